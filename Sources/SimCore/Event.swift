/// One scheduled event: a small value with an integer kind and payload, no closure.
///
/// Events are ordered by `(time, sequence)`. The sequence number is assigned by the engine when
/// the event is scheduled, so events at equal times run in the order they were scheduled and
/// every run is reproducible. The sequence number doubles as the event's identity for
/// cancellation.
public struct Event: Sendable, Equatable {
    /// When the event fires.
    public var time: SimTime
    /// Scheduling order; unique per engine.
    public var sequence: UInt64
    /// What happens: a code the handler interprets (the engine knows nothing of GPUs).
    public var kind: UInt32
    /// Which entity the event concerns (a rank, a link, a flow…), by index.
    public var target: Int32
    /// A small integer argument.
    public var payload: Int64

    @inlinable
    public init(time: SimTime, sequence: UInt64, kind: UInt32, target: Int32, payload: Int64) {
        self.time = time
        self.sequence = sequence
        self.kind = kind
        self.target = target
        self.payload = payload
    }

    /// `true` when `self` must run before `other`.
    @inlinable
    public func precedes(_ other: Event) -> Bool {
        time.picoseconds < other.time.picoseconds
            || (time.picoseconds == other.time.picoseconds && sequence < other.sequence)
    }

    /// The identity used to cancel this event.
    @inlinable public var id: EventID { EventID(sequence: sequence) }
}

/// The identity of a scheduled event, returned by `Engine.schedule` and passed to `Engine.cancel`.
public struct EventID: Hashable, Sendable {
    public let sequence: UInt64
    @inlinable public init(sequence: UInt64) { self.sequence = sequence }
}
