import Testing
@testable import Schedules

/// Closed-form oracles: DeepSeek-V3 report Table 2 and the DualPipe README, with F = W = 1,
/// B = 2 (so the input backward equals F, the usual zero-bubble assumption) and F&B = 2.5.
@Suite struct ScheduleTests {
    static let units = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5)

    func run(_ kind: ScheduleKind, pp: Int, n: Int, v: Int = 2, d: OpDurations = units, sends: PipelineSends? = nil) throws -> ScheduleResult {
        try ScheduleSimulator(sends: sends).run(try ScheduleGenerator.make(kind, pp: pp, microbatches: n, virtualStages: v), durations: d)
    }

    @Test("DualPipe README / V3 Table 2: PP=8, N=20 → DualPipe 4.5, 1F1B 21, ZB1P 7")
    func publishedExample() throws {
        #expect(try run(.dualpipe, pp: 8, n: 20).maxBubble == 4.5)
        #expect(try run(.oneFOneB, pp: 8, n: 20).maxBubble == 21)
        #expect(try run(.zb1p, pp: 8, n: 20).maxBubble == 7)
    }

    /// Bubble formulas over several sizes: 1F1B and GPipe (PP−1)(F+B); ZB1P (PP−1)(F+B−2W);
    /// DualPipe and DualPipeV (PP/2−1)(F&B+B−3W); interleaved (PP−1)(F+B)/v. Free transfers:
    /// they hold under overlapped sends, and under the batched sends of GPipe, 1F1B and
    /// DualPipe(V) (their reference implementations' boundaries wait for nothing then).
    @Test(arguments: [(4, 8), (8, 16), (16, 32), (16, 120)], [PipelineSends.overlapped, .batched])
    func bubbleFormulas(size: (pp: Int, n: Int), sends: PipelineSends) throws {
        let (pp, n) = size, f = 1.0, b = 2.0, w = 1.0, fb = 2.5
        let p = Double(pp)
        #expect(try run(.gpipe, pp: pp, n: n, sends: sends).maxBubble == (p - 1) * (f + b))
        #expect(try run(.oneFOneB, pp: pp, n: n, sends: sends).maxBubble == (p - 1) * (f + b))
        #expect(try run(.dualpipe, pp: pp, n: n, sends: sends).maxBubble == (p / 2 - 1) * (fb + b - 3 * w))
        #expect(try run(.dualpipev, pp: pp, n: n, sends: sends).maxBubble == (p / 2 - 1) * (fb + b - 3 * w))
        guard sends == .overlapped else { return }
        #expect(try run(.zb1p, pp: pp, n: n, sends: sends).maxBubble == (p - 1) * (f + b - 2 * w))
        if n % pp == 0 { #expect(try run(.interleaved, pp: pp, n: n, v: 2, sends: sends).maxBubble == (p - 1) * (f + b) / 2) }
    }

    /// Memory per device in units of one of PP stages (V3 Table 2, DualPipe README): DualPipe
    /// and DualPipeV 2× parameters and PP+1 activations; 1F1B and ZB1P 1× and PP.
    @Test func memoryColumns() throws {
        let dual = try run(.dualpipe, pp: 8, n: 20), v = try run(.dualpipev, pp: 8, n: 20)
        let ofob = try run(.oneFOneB, pp: 8, n: 20), zb = try run(.zb1p, pp: 8, n: 20)
        #expect(dual.parameterCopies == 2 && v.parameterCopies == 2)
        #expect(dual.peakInflightMicrobatchesPerRank.max() == 9 && v.peakInflightMicrobatchesPerRank.max() == 9)
        #expect(ofob.parameterCopies == 1 && zb.parameterCopies == 1)
        #expect(ofob.peakInflightMicrobatchesPerRank.max() == 8 && zb.peakInflightMicrobatchesPerRank.max() == 8)
        #expect(v.bubblePerRank.count == 4)                                      // PP/2 devices
        #expect(try run(.gpipe, pp: 8, n: 20).peakInflightMicrobatchesPerRank.max() == 20)
    }

    /// Neither DualPipe's bubble nor its activation memory grows with the micro-batches.
    @Test func dualPipeDoesNotGrowWithMicrobatches() throws {
        let a = try run(.dualpipe, pp: 8, n: 20), b = try run(.dualpipe, pp: 8, n: 60)
        #expect(a.maxBubble == b.maxBubble)
        #expect(a.peakInflightMicrobatchesPerRank == b.peakInflightMicrobatchesPerRank)
    }

    /// Every micro-batch is forwarded and backwarded exactly once on every stage.
    @Test(arguments: ScheduleKind.allCases)
    func everyOpRunsOnce(kind: ScheduleKind) throws {
        let s = try ScheduleGenerator.make(kind, pp: 4, microbatches: 8)
        let ops = s.program.flatMap { $0.flatMap(\.ops) }
        #expect(Set(ops).count == ops.count)
        let forwards = ops.filter { $0.kind == .forward }.count
        #expect(forwards == s.stagesPerPipeline * s.pipelines * s.microbatchesPerPipeline)
        let backwardInputs = ops.filter { $0.kind == .backward || $0.kind == .backwardInput }.count
        #expect(backwardInputs == forwards)
        #expect(ops.filter { $0.kind == .backwardWeight }.count == ops.filter { $0.kind == .backwardInput }.count)
    }

    @Test func infeasibleRequestsAreRejected() {
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.dualpipe, pp: 7, microbatches: 20) }     // odd PP
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.dualpipe, pp: 8, microbatches: 21) }    // odd N
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.dualpipe, pp: 8, microbatches: 14) }    // N < 2·PP
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.dualpipev, pp: 8, microbatches: 6) }    // N < 2·PP/2
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.interleaved, pp: 4, microbatches: 10) } // N not a multiple of PP
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.interleaved, pp: 4, microbatches: 8, virtualStages: 1) }
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.oneFOneB, pp: 0, microbatches: 8) }
        #expect(throws: ScheduleError.self) { try ScheduleSimulator().run(try ScheduleGenerator.make(.zb1p, pp: 4, microbatches: 8),
                                                                        durations: OpDurations(forward: 1, backward: 1, weight: 2, forwardBackward: 2)) }
        #expect(throws: ScheduleError.self) { try run(.interleaved, pp: 4, n: 8, sends: .batched) }            // not modelled
        // A unit slip (10⁸ micro-batches, 10⁵ stages) would exhaust memory or run for hours:
        // refused with the bound (1,000,000 stage micro-batches), overflow included.
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.oneFOneB, pp: 4, microbatches: 100_000_000) }
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.interleaved, pp: 1000, microbatches: 1000, virtualStages: 2) }
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(.zb1p, pp: Int.max / 2, microbatches: 8) }
        #expect(throws: Never.self) { try ScheduleKind.oneFOneB.checkPlan(pp: 1000, microbatches: 1000) }
        // Durations beyond the integer clock (a micro-batch of 10⁹ tokens crashed the step
        // until 2026-11-24) are refused before the clock overflows.
        #expect(throws: ScheduleError.self) { try ScheduleSimulator().run(try ScheduleGenerator.make(.oneFOneB, pp: 4, microbatches: 8),
                                                                        durations: OpDurations(forward: 1e12, backward: 2, weight: 1, forwardBackward: 2.5)) }
    }

    /// Ranks far from the one that finished are not re-tried after each event (only the
    /// finished rank, its stages' neighbours and its messages' peers): a deep pipeline keeps
    /// the closed forms, here GPipe's (PP − 1)(F + B) idle per rank and 1F1B's makespan
    /// (N + PP − 1)(F + B), under both kinds of sends with free transfers.
    @Test func deepPipelinesKeepTheClosedForms() throws {
        let d = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5)
        for sends in [PipelineSends.overlapped, .batched] {
            for kind in [ScheduleKind.gpipe, .oneFOneB] {
                let r = try ScheduleSimulator(sends: sends).run(try ScheduleGenerator.make(kind, pp: 128, microbatches: 160), durations: d)
                #expect(abs(r.makespan - Double(160 + 127) * 3) < 1e-9)
                #expect(r.bubblePerRank.allSatisfy { abs($0 - 127 * 3) < 1e-9 })
            }
        }
    }
}

@Suite struct ChromeTraceTests {
    @Test func traceIsValidJSONWithOneProcessPerRank() throws {
        let r = try ScheduleSimulator().run(try ScheduleGenerator.make(.dualpipe, pp: 4, microbatches: 8),
                                             durations: OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5))
        let text = ChromeTrace.render(segments: r.segments, name: "test")
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let events = json["traceEvents"] as! [[String: Any]]
        #expect(events.filter { $0["ph"] as? String == "X" }.count == r.segments.count)
        #expect(Set(events.compactMap { $0["pid"] as? Int }) == [0, 1, 2, 3])
    }
}
import Foundation

@Suite struct TransferTests {
    /// With a send time δ between stages, the first micro-batch's round trip gains 2δ per stage
    /// boundary, so 1F1B's bubble is at least (PP−1)(F+B+2δ); the steady state's waits add more.
    @Test func oneFOneBBubbleGrowsWithTransfers() throws {
        let d = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5, transfer: 0.25)
        let r = try ScheduleSimulator().run(try ScheduleGenerator.make(.oneFOneB, pp: 8, microbatches: 20), durations: d)
        #expect(r.maxBubble >= 7 * (3 + 0.5) - 1e-9)
        #expect(r.busyPerRank.allSatisfy { abs($0 - 60) < 1e-9 })      // transfers never occupy the compute stream
    }

    /// 1F1B on PP 2 with 2 micro-batches, F = 1, B = 2, send time t, worked by hand. Overlapped:
    /// rank 1 waits for each input, 9 + 2t. Batched: rank 0's second forward also waits for its
    /// first send to cross (1 + t), and the last gradient leaves only at rank 1's final
    /// boundary, 9 + 3t.
    @Test func batchedSendsMakeTheSenderWait() throws {
        let t = 0.25, d = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5, transfer: t)
        let schedule = try ScheduleGenerator.make(.oneFOneB, pp: 2, microbatches: 2)
        #expect(abs(try ScheduleSimulator(sends: .overlapped).run(schedule, durations: d).makespan - (9 + 2 * t)) < 1e-9)
        let batched = try ScheduleSimulator(sends: .batched).run(schedule, durations: d)
        #expect(abs(batched.makespan - (9 + 3 * t)) < 1e-9)
        #expect(abs(batched.pipelineEndPerRank[1] - (7 + 3 * t)) < 1e-9)      // rank 1 waits for its last send to cross
        #expect(batched.segments.filter { $0.rank == 0 }.map(\.start) == [0, 1 + t, 4 + 2 * t, 7 + 3 * t])
    }

    /// DualPipe's boundaries as `dualpipe.py` places them, on PP 8 (n = 4 ranks a side): rank 0
    /// (h = 0) and middle rank 3 (h = 3).
    @Test func dualPipeBoundariesFollowTheReference() throws {
        let s = try ScheduleGenerator.make(.dualpipe, pp: 8, microbatches: 20)
        let rank0 = s.program[0], middle = s.program[3]
        // Rank 0: 6 warm-up F0; step 2: F0 sent one boundary late, F1; step 3: 3 × (B1, W, F1
        // received before W); the first main F&B received back at step 2's F1 (3·3 + 1).
        #expect(rank0[6].sendDelay == 2 && rank0[6].forwardReceiveLead == 0 && rank0[7].sendDelay == 1)
        #expect([10, 13, 16].allSatisfy { rank0[$0].forwardReceiveLead == 1 && rank0[$0 - 1].ops[0].kind == .backwardWeight })
        #expect(rank0[17].isOverlapped && rank0[17].forwardReceiveLead == 10)
        // Middle rank: 4 × (F0, F1), later F0 received a boundary early; the last F1 and the first
        // main-step F0 (not overlapped) send after the B1 that follows.
        #expect(middle[0].forwardReceiveLead == 0 && [2, 4, 6].allSatisfy { middle[$0].forwardReceiveLead == 1 })
        #expect(middle[7].sendDelay == 2 && middle[8].sendDelay == 2 && middle[8].forwardReceiveLead == 1)
        #expect(!middle[8].isOverlapped && middle[9].ops[0].kind == .backward)
    }

    /// Batched sends never deadlock DualPipe or DualPipeV, and cost time when transfers do.
    @Test(arguments: [(2, 4), (4, 8), (6, 14), (8, 20), (16, 120)])
    func batchedDualPipeRuns(pp: Int, n: Int) throws {
        for kind in [ScheduleKind.dualpipe, .dualpipev] {
            let schedule = try ScheduleGenerator.make(kind, pp: pp, microbatches: n)
            let d = OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5, transfer: 0.1)
            let batched = try ScheduleSimulator(sends: .batched).run(schedule, durations: d)
            let overlapped = try ScheduleSimulator(sends: .overlapped).run(schedule, durations: d)
            #expect(batched.makespan >= overlapped.makespan - 1e-9)
        }
    }

    /// Sequences split into chunks (Seq1F1B): every rank backpropagates each sequence's chunks
    /// last first, after all of them were forwarded; FIFO schedules refuse a split.
    @Test(arguments: [ScheduleKind.gpipe, .oneFOneB, .zb1p])
    func sequenceChunksRunLastFirst(kind: ScheduleKind) throws {
        let c = 4, schedule = try ScheduleGenerator.make(kind, pp: 4, microbatches: 12, sequenceChunks: c)
        for list in schedule.program {
            let backwards = list.flatMap(\.ops).filter { $0.kind == .backward || $0.kind == .backwardInput }.map(\.microbatch)
            #expect(backwards == (0..<12).map { ($0 / c) * c + (c - 1 - $0 % c) })
        }
        let r = try ScheduleSimulator().run(schedule, durations: OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5, transfer: 0.1))
        #expect(r.busyPerRank.allSatisfy { abs($0 - 36) < 1e-9 })
        // 1F1B warms up with c − 1 more forwards: rank 0 holds PP + c − 1 chunks.
        if kind == .oneFOneB { #expect(r.peakInflightMicrobatchesPerRank[0] == 7) }
        for fifo in [ScheduleKind.dualpipe, .dualpipev, .interleaved] {
            #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(fifo, pp: 4, microbatches: 16, sequenceChunks: c) }
        }
        #expect(throws: ScheduleError.self) { try ScheduleGenerator.make(kind, pp: 4, microbatches: 10, sequenceChunks: c) }   // not whole sequences
    }

    @Test func dualPipeBubbleGrowsButStaysBelowOneFOneB() throws {
        let none = try ScheduleSimulator().run(try ScheduleGenerator.make(.dualpipe, pp: 8, microbatches: 20), durations: OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5))
        let some = try ScheduleSimulator().run(try ScheduleGenerator.make(.dualpipe, pp: 8, microbatches: 20), durations: OpDurations(forward: 1, backward: 2, weight: 1, forwardBackward: 2.5, transfer: 0.25))
        #expect(some.makespan > none.makespan)
        #expect(some.maxBubble < 21)
    }
}
