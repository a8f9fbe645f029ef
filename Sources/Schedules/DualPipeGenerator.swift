/// DualPipe (DeepSeek-V3 report §3.2.1; deepseek-ai/DualPipe) and DualPipeV (its V-shaped,
/// cut-in-half variant), re-implemented from the published description of the 8-step recipe
/// (../shared/reference/deepseek-v3.md §3.1).
///
/// DualPipe: pp ranks; micro-batches split in two halves flowing in opposite directions;
/// rank r holds stage r of direction 0 and stage r of direction 1 mapped to rank pp−1−r.
/// DualPipeV: pp stages on pp/2 devices; device r holds stages r and pp−1−r of one pipeline.
/// With h = min(r, pp−1−r) and n = pp/2 (DualPipe; for DualPipeV h = r and n = devices), each
/// rank runs: 2(n−h−1) phase-0 forwards; h+1 pairs (F0, F1); n−h−1 triples (B1 with W
/// deferred, one deferred W, F1); the main loop of overlapped (F0 & B1), (F1 & B0) pairs; n−h−1
/// of (B1, F1 & B0); h+1 pairs (B1, B0), the later half deferring W; n−h−1 of (W, B0 with W
/// deferred); then the remaining W's.
///
/// Under batched sends the boundaries follow `dualpipe.py`: in step 2 each phase-0 forward but
/// the first has its input received at the boundary before the preceding phase-1 forward, and
/// off the middle ranks its output is sent one boundary late (after that phase-1 forward); the
/// first main-step phase-0 forward has its input received back at step 2's last phase-1
/// forward; step 3's phase-1 forward has its input received before the deferred W; on the
/// middle ranks the last step-2 phase-1 forward and the first main-step phase-0 forward send
/// their outputs after the non-overlapped B that follows.
enum DualPipeGenerator {
    /// Needs an even PP and an even n ≥ 2 × ranks (`ScheduleKind.checkPlan`).
    static func make(_ kind: ScheduleKind, pp: Int, microbatches n: Int) -> PipelineSchedule {
        let v = kind == .dualpipev
        let devices = v ? pp / 2 : pp
        let program = (0..<devices).map { rank(r: $0, devices: devices, chunks: n, v: v) }
        return PipelineSchedule(kind: kind, ranks: devices, stagesPerPipeline: pp, pipelines: v ? 1 : 2,
                                microbatchesPerPipeline: v ? n : n / 2, program: program, stageSize: 1)
    }

    /// The instruction list of one rank.
    static func rank(r: Int, devices: Int, chunks: Int, v: Bool) -> [PipelineInstruction] {
        let half = v ? r : min(r, devices - 1 - r)
        let halves = v ? devices : devices / 2
        let isMiddle = half == halves - 1
        let secondHalf = !v && r >= devices / 2
        let mainSteps = v ? chunks - 2 * devices + half + 1 : chunks / 2 - devices + half + 1

        /// (pipeline, stage) of a phase on this rank.
        func place(_ phase: Int) -> (Int, Int) {
            if v { return (0, phase == 0 ? r : 2 * devices - 1 - r) }
            let pipeline = phase ^ (secondHalf ? 1 : 0)
            return (pipeline, pipeline == 0 ? r : devices - 1 - r)
        }
        var forwards = [0, 0], backwards = [0, 0]
        var deferred: [PipelineOp] = []
        var list: [PipelineInstruction] = []

        func forwardOp(_ phase: Int) -> PipelineOp {
            let (p, s) = place(phase)
            defer { forwards[phase] += 1 }
            return PipelineOp(kind: .forward, pipeline: p, stage: s, microbatch: forwards[phase])
        }
        func backwardOp(_ phase: Int, zeroBubble: Bool) -> PipelineOp {
            let (p, s) = place(phase)
            defer { backwards[phase] += 1 }
            let mb = backwards[phase]
            if zeroBubble { deferred.append(PipelineOp(kind: .backwardWeight, pipeline: p, stage: s, microbatch: mb)) }
            return PipelineOp(kind: zeroBubble ? .backwardInput : .backward, pipeline: p, stage: s, microbatch: mb)
        }
        func F(_ phase: Int, sendDelay: Int = 1, lead: Int = 0) {
            list.append(PipelineInstruction(ops: [forwardOp(phase)], sendDelay: sendDelay, forwardReceiveLead: lead))
        }
        func B(_ phase: Int, zb: Bool = false) { list.append(PipelineInstruction(ops: [backwardOp(phase, zeroBubble: zb)])) }
        func W() { list.append(PipelineInstruction(ops: [deferred.removeFirst()])) }
        func FB(_ f: Int, _ b: Int, lead: Int = 0) {
            list.append(PipelineInstruction(ops: [forwardOp(f), backwardOp(b, zeroBubble: false)], forwardReceiveLead: lead))
        }

        for _ in 0..<(2 * (halves - half - 1)) { F(0) }                       // 1: nF0
        for i in 0...half {                                                     // 2: nF0F1
            F(0, sendDelay: isMiddle ? 1 : 2, lead: i == 0 ? 0 : 1)
            F(1, sendDelay: isMiddle && i == half ? 2 : 1)
        }
        for _ in 0..<(halves - half - 1) { B(1, zb: true); W(); F(1, lead: 1) } // 3: nB1W1F1
        let firstMainLead = 3 * (halves - half - 1) + 1
        for i in 0..<mainSteps {                                                // 4: nF0B1F1B0
            if i == 0 && isMiddle { F(0, sendDelay: 2, lead: firstMainLead); B(1) } else { FB(0, 1, lead: i == 0 ? firstMainLead : 0) }
            FB(1, 0)
        }
        for _ in 0..<(halves - half - 1) { B(1); FB(1, 0) }                     // 5: nB1F1B0
        var zb = false                                                          // 6: nB1B0
        for i in 0..<(half + 1) {
            if i == (half + 1) / 2 && half % 2 == 1 { zb = true }
            B(1, zb: zb)
            if i == (half + 1) / 2 && half % 2 == 0 { zb = true }
            B(0, zb: zb)
        }
        for _ in 0..<(halves - half - 1) { W(); B(0, zb: true) }                // 7: nWB0
        while !deferred.isEmpty { W() }                                         // 8: nW
        return list
    }
}
