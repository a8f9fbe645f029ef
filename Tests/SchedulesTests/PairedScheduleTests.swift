import Testing
@testable import Schedules

/// Forward-and-backward pairs on an ordinary pipeline (Megatron-Core's
/// `--overlap-moe-expert-parallel-comm`): the plain schedule's forwards and backwards in their
/// orders, one more forward of warm-up, then pairs.
@Suite struct PairedScheduleTests {
    func labels(_ list: [PipelineInstruction]) -> [String] {
        list.map { $0.ops.map { "\($0.kind == .forward ? "F" : "B")\($0.microbatch)" }.joined(separator: "+") }
    }

    /// One rank: F0, then each next forward with the previous micro-batch's backward, then the
    /// last backward.
    @Test func oneRank() throws {
        let s = try ScheduleGenerator.make(.oneFOneB, pp: 1, microbatches: 4, pairForwardBackward: true)
        #expect(labels(s.program[0]) == ["F0", "F1+B0", "F2+B1", "F3+B2", "B3"])
    }

    /// Interleaved 1F1B keeps every forward and backward of the plain schedule, in its orders,
    /// never pairs a micro-batch chunk with its own backward, runs to the end (no deadlock),
    /// and with a pair shorter than its two halves (F = 1, B = 2, F&B = 2.5) finishes sooner.
    @Test func interleavedPairsFinishSooner() throws {
        let plain = try ScheduleGenerator.make(.interleaved, pp: 4, microbatches: 8, virtualStages: 2)
        let paired = try ScheduleGenerator.make(.interleaved, pp: 4, microbatches: 8, virtualStages: 2, pairForwardBackward: true)
        for (a, b) in zip(plain.program, paired.program) {
            #expect(a.flatMap(\.ops).filter { $0.kind == .forward } == b.flatMap(\.ops).filter { $0.kind == .forward })
            #expect(a.flatMap(\.ops).filter { $0.kind != .forward } == b.flatMap(\.ops).filter { $0.kind != .forward })
            for i in b where i.isOverlapped { #expect(i.ops[0].stage != i.ops[1].stage || i.ops[0].microbatch != i.ops[1].microbatch) }
            #expect(b.filter(\.isOverlapped).count > 0)
        }
        let d = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5)
        let (p, q) = (try ScheduleSimulator().run(plain, durations: d), try ScheduleSimulator().run(paired, durations: d))
        #expect(q.makespan < p.makespan)
    }

    /// Schedules that cannot pair are errors naming the fix: DualPipe pairs already, ZB1P splits
    /// its backward, 1F1B on several ranks would chain whole pairs along the backward.
    @Test func impossiblePairs() {
        for (kind, pp) in [(ScheduleKind.dualpipe, 4), (.zb1p, 4), (.oneFOneB, 4), (.gpipe, 1)] {
            #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(kind, pp: pp, microbatches: 8, pairForwardBackward: true) }
        }
    }
}
