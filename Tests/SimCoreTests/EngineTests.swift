import Testing
@testable import SimCore

/// Records every event it sees; optionally schedules follow-ups.
struct Recorder: EventHandler {
    var seen: [(time: Int64, kind: UInt32, payload: Int64)] = []
    var chain: Int = 0
    mutating func handle(_ event: Event, engine: Engine) {
        #expect(engine.now == event.time)
        seen.append((event.time.picoseconds, event.kind, event.payload))
        if chain > 0 {
            chain -= 1
            engine.schedule(after: SimTime(picoseconds: 10), kind: 9, payload: event.payload + 1)
        }
    }
}

@Suite struct EngineTests {
    @Test func runsEventsInTimeThenSchedulingOrder() {
        let engine = Engine()
        engine.schedule(at: SimTime(picoseconds: 30), kind: 1)
        engine.schedule(at: SimTime(picoseconds: 10), kind: 2)
        engine.schedule(at: SimTime(picoseconds: 10), kind: 3)
        engine.schedule(at: SimTime(picoseconds: 20), kind: 4)
        var r = Recorder()
        #expect(engine.run(&r) == .idle)
        #expect(r.seen.map(\.kind) == [2, 3, 4, 1])
        #expect(engine.now == SimTime(picoseconds: 30))
        #expect(engine.checkInvariants())
    }

    @Test func lazyCancellationSkipsEventsAndKeepsAccounts() {
        let engine = Engine()
        let a = engine.schedule(at: SimTime(picoseconds: 1), kind: 1)
        engine.schedule(at: SimTime(picoseconds: 2), kind: 2)
        let c = engine.schedule(at: SimTime(picoseconds: 3), kind: 3)
        #expect(engine.cancel(a))
        #expect(!engine.cancel(a))           // twice
        #expect(engine.cancel(c))
        #expect(!engine.cancel(EventID(sequence: 99)))   // never issued
        var r = Recorder()
        engine.run(&r)
        #expect(r.seen.map(\.kind) == [2])
        #expect(engine.scheduledCount == 3)
        #expect(engine.processedCount == 1)
        #expect(engine.skippedCancelledCount == 2)
        #expect(engine.checkInvariants())
    }

    @Test func stopsAtTimeLimitAndResumes() {
        let engine = Engine()
        var r = Recorder(chain: 100)
        engine.schedule(at: .zero, kind: 9, payload: 0)
        #expect(engine.run(&r, until: SimTime(picoseconds: 55)) == .reachedTimeLimit)
        #expect(r.seen.count == 6)                     // t = 0, 10, …, 50
        #expect(engine.now == SimTime(picoseconds: 55))
        #expect(engine.pendingCount == 1)
        #expect(engine.checkInvariants())
        #expect(engine.run(&r) == .idle)
        #expect(r.seen.count == 101)
        #expect(r.seen.last!.payload == 100)
        #expect(engine.checkInvariants())
    }

    @Test func stopsAfterEventBudget() {
        let engine = Engine()
        for i in 0..<10 { engine.schedule(at: SimTime(picoseconds: Int64(i)), kind: 0) }
        var r = Recorder()
        #expect(engine.run(&r, maxEvents: 4) == .reachedEventLimit)
        #expect(r.seen.count == 4)
        #expect(engine.pendingCount == 6)
    }

    @Test func holdModelIsDeterministicForASeed() {
        // Same seed → same final simulated time, bit for bit.
        func finalTime(seed: UInt64) -> Int64 {
            let engine = Engine()
            var rng = SplitMix64(seed: seed)
            for _ in 0..<100 { engine.schedule(after: SimTime(picoseconds: Int64(rng.next() % 1000)), kind: 0) }
            var r = Recorder(chain: 5_000)
            engine.run(&r)
            return engine.now.picoseconds
        }
        #expect(finalTime(seed: 3) == finalTime(seed: 3))
        let result = HoldBenchmark(pending: 1_000, operations: 10_000, seed: 5).run()
        #expect(result.events == 10_000)
        #expect(result.eventsPerSecond > 0)
    }

    @Test func simTimeConversions() {
        #expect(SimTime.seconds(1.5).picoseconds == 1_500_000_000_000)
        #expect(SimTime.microseconds(2.8).picoseconds == 2_800_000)
        #expect(SimTime.nanoseconds(7).picoseconds == 7_000)
        #expect(abs(SimTime.seconds(19.926).seconds - 19.926) < 1e-12)
        #expect(SimTime.seconds(0.002).description == "2.000 ms")
    }
}
