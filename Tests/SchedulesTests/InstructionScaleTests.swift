import Testing
@testable import Schedules

/// Per-instruction duration factors (`ScheduleSimulator.run(_:stageDurations:instructionScale:)`),
/// the hook run-to-run jitter uses: a slow instruction delays exactly what depends on it.
@Suite struct InstructionScaleTests {
    static let units = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5)

    func run(_ s: PipelineSchedule, _ scale: [[Double]]?, sends: PipelineSends? = nil) throws -> ScheduleResult {
        try ScheduleSimulator(sends: sends).run(s, durations: Self.units, instructionScale: scale)
    }

    func factors(_ s: PipelineSchedule, _ value: Double) -> [[Double]] { s.program.map { Array(repeating: value, count: $0.count) } }

    @Test("every factor 2 doubles the makespan and each rank's bubble; every factor 1 changes nothing")
    func uniformFactor() throws {
        for kind in [ScheduleKind.oneFOneB, .zb1p, .dualpipe] {
            let s = try ScheduleGenerator.make(kind, pp: 4, microbatches: 8)
            let base = try run(s, nil), doubled = try run(s, factors(s, 2))
            #expect(doubled.makespan == 2 * base.makespan)
            #expect(doubled.bubblePerRank == base.bubblePerRank.map { 2 * $0 })
            #expect(try run(s, factors(s, 1)) == base)
        }
    }

    /// 1F1B, PP 2, 2 micro-batches, F = 1, B = 2: makespan (N + PP − 1)(F + B) = 9. Rank 0's
    /// first forward at 3× (3 instead of 1) delays everything after it by 2: 11. The same factor
    /// on rank 0's last instruction (the backward of micro-batch 1, the step's last op) adds
    /// 2 × 2 = 4: 13. Rank 1 idles 2 more in the first case, none more in the second.
    @Test("one slow instruction: the makespan grows by its extra time when it is on the critical path")
    func oneSlowInstruction() throws {
        let s = try ScheduleGenerator.make(.oneFOneB, pp: 2, microbatches: 2)
        let base = try run(s, nil)
        #expect(base.makespan == 9)
        var first = factors(s, 1); first[0][0] = 3
        let slowFirst = try run(s, first)
        #expect(slowFirst.makespan == 11)
        #expect(slowFirst.bubblePerRank[1] == base.bubblePerRank[1] + 2)
        var last = factors(s, 1); last[0][s.program[0].count - 1] = 3
        let slowLast = try run(s, last)
        #expect(slowLast.makespan == 13)
        #expect(slowLast.bubblePerRank[0] == base.bubblePerRank[0])
    }

    @Test("factors of the wrong shape, or not > 0, are errors")
    func badFactors() throws {
        let s = try ScheduleGenerator.make(.oneFOneB, pp: 2, microbatches: 2)
        #expect(throws: ScheduleError.self) { try run(s, [[1, 1]]) }
        var zero = factors(s, 1); zero[1][0] = 0
        #expect(throws: ScheduleError.self) { try run(s, zero) }
        var nan = factors(s, 1); nan[0][1] = .nan
        #expect(throws: ScheduleError.self) { try run(s, nan) }
    }
}
