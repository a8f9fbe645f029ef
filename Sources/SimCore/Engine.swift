/// Reacts to events popped by the engine. Implemented by the simulation models above SimCore
/// (the fabric, the training step); the engine itself knows nothing of GPUs.
public protocol EventHandler {
    /// Handles one event. `engine.now` equals `event.time` during the call; the handler may
    /// schedule and cancel events.
    mutating func handle(_ event: Event, engine: Engine)
}

/// Why `Engine.run` returned.
public enum RunOutcome: Equatable, Sendable {
    /// No event is pending.
    case idle
    /// The next event lies beyond the time limit; it stays queued.
    case reachedTimeLimit
    /// The event budget was spent.
    case reachedEventLimit
}

/// The discrete-event engine: integer time, `(time, sequence)` order, lazy cancellation.
///
/// One engine per simulation, on one thread; parallelism lives above (independent runs of a
/// sweep). Cancellation is lazy: a cancelled event stays in the queue and is skipped when popped,
/// which keeps `cancel` O(1). Counters let tests assert that no event is lost:
/// `scheduled == processed + skippedCancelled + pending` always holds.
public final class Engine {
    /// The current simulated time.
    @inlinable public var now: SimTime { _now }
    @usableFromInline var _now: SimTime = .zero
    @usableFromInline var queue: EventQueue
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var cancelled: Set<UInt64> = []

    /// Events scheduled so far.
    @inlinable public var scheduledCount: UInt64 { _scheduledCount }
    @usableFromInline var _scheduledCount: UInt64 = 0
    /// Events handed to a handler so far.
    @inlinable public var processedCount: UInt64 { _processedCount }
    @usableFromInline var _processedCount: UInt64 = 0
    /// Cancelled events discarded when popped.
    @inlinable public var skippedCancelledCount: UInt64 { _skippedCancelledCount }
    @usableFromInline var _skippedCancelledCount: UInt64 = 0

    public init(reservingCapacity capacity: Int = 1024) {
        queue = EventQueue(reservingCapacity: capacity)
    }

    /// Events still queued (cancelled ones not yet discarded included).
    public var pendingCount: Int { queue.count }

    /// Schedules an event `delay` after now.
    @discardableResult @inlinable
    public func schedule(after delay: SimTime, kind: UInt32, target: Int32 = 0, payload: Int64 = 0) -> EventID {
        schedule(at: now + delay, kind: kind, target: target, payload: payload)
    }

    /// Schedules an event at an absolute time, which must not be in the past.
    @discardableResult @inlinable
    public func schedule(at time: SimTime, kind: UInt32, target: Int32 = 0, payload: Int64 = 0) -> EventID {
        precondition(time >= now, "cannot schedule an event in the past (\(time) < now \(now))")
        let sequence = nextSequence
        nextSequence &+= 1
        _scheduledCount &+= 1
        queue.push(Event(time: time, sequence: sequence, kind: kind, target: target, payload: payload))
        return EventID(sequence: sequence)
    }

    /// Cancels a pending event. Returns `false` when the id was never issued or is already
    /// cancelled. Cancelling an event that already ran does not change the run.
    @discardableResult
    public func cancel(_ id: EventID) -> Bool {
        guard id.sequence < nextSequence else { return false }
        return cancelled.insert(id.sequence).inserted
    }

    /// Runs events in `(time, sequence)` order until the queue is empty, the next event lies
    /// after `limit`, or `maxEvents` have been handled.
    @discardableResult @inlinable
    public func run<H: EventHandler>(_ handler: inout H, until limit: SimTime = .never,
                                     maxEvents: UInt64 = .max) -> RunOutcome {
        var handled: UInt64 = 0
        while let nextTime = queue.minTime {
            if nextTime > limit { _now = limit; return .reachedTimeLimit }
            if handled >= maxEvents { return .reachedEventLimit }
            let next = queue.popMin().unsafelyUnwrapped
            if !cancelled.isEmpty, cancelled.remove(next.sequence) != nil {
                _skippedCancelledCount &+= 1
                continue
            }
            _now = next.time
            _processedCount &+= 1
            handled &+= 1
            handler.handle(next, engine: self)
        }
        if limit != .never, limit > _now { _now = limit }
        return .idle
    }

    /// Advances the clock to `time` with no event; used when a run stops at a time limit.
    public func advance(to time: SimTime) {
        precondition(time >= now, "cannot move time backwards")
        if let next = queue.minTime { precondition(time <= next, "cannot skip past a pending event") }
        _now = time
    }

    /// The bookkeeping invariants: the heap is ordered and no event is unaccounted for.
    public func checkInvariants() -> Bool {
        queue.checkInvariants()
            && scheduledCount == processedCount + skippedCancelledCount + UInt64(queue.count)
    }
}
