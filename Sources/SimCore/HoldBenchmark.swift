import Foundation

/// The classic "hold model" benchmark of event-set implementations (Vaucher and Duval, 1975):
/// with `pending` events in the queue, repeatedly pop the earliest event and schedule one new
/// event an exponentially distributed delay later, so the queue size stays constant.
public struct HoldBenchmark: Sendable {
    /// Events kept pending.
    public var pending: Int
    /// Pop-push operations timed (after an untimed warm-up of the same count).
    public var operations: Int
    /// Seed of the delay stream (SplitMix64; the engine itself draws no random numbers).
    public var seed: UInt64
    /// Timed rounds; the fastest is reported.
    public var repeats: Int

    public init(pending: Int, operations: Int, seed: UInt64 = 1, repeats: Int = 5) {
        self.pending = pending
        self.operations = operations
        self.seed = seed
        self.repeats = repeats
    }

    /// The result of one measurement.
    public struct Result: Sendable, Codable, Equatable {
        public var pending: Int
        public var events: Int
        /// Wall-clock seconds for the timed events (best round).
        public var seconds: Double
        /// Events handled per wall-clock second.
        public var eventsPerSecond: Double
    }

    /// Runs the benchmark through the full `Engine` (schedule, lazy-cancel check, handler call).
    public func run() -> Result {
        let engine = Engine(reservingCapacity: pending + 1)
        var rng = SplitMix64(seed: seed)
        // Mean inter-event delay 1 µs, in picoseconds.
        for _ in 0..<pending {
            engine.schedule(after: SimTime(picoseconds: rng.exponentialPicoseconds(mean: 1_000_000)), kind: 0)
        }
        var handler = Reschedule(rng: rng)
        engine.run(&handler, maxEvents: UInt64(operations))            // warm-up
        // Best of `repeats` timed rounds: the least-disturbed measurement on a shared machine.
        var elapsed = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            engine.run(&handler, maxEvents: UInt64(operations))
            elapsed = Swift.min(elapsed, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return Result(pending: pending, events: operations, seconds: elapsed,
                      eventsPerSecond: Double(operations) / Swift.max(elapsed, 1e-12))
    }

    struct Reschedule: EventHandler {
        var rng: SplitMix64
        mutating func handle(_ event: Event, engine: Engine) {
            engine.schedule(after: SimTime(picoseconds: rng.exponentialPicoseconds(mean: 1_000_000)), kind: 0)
        }
    }
}
