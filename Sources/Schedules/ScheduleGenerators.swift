/// Generators of per-rank instruction lists. Stage s of pipeline 0 runs on rank s unless a
/// generator says otherwise.
public enum ScheduleGenerator {
    /// Builds the schedule of `kind` for `pp` pipeline stages (devices, except DualPipeV which
    /// puts them on pp/2 devices) and `microbatches` micro-batches; `virtualStages` is v for
    /// interleaved 1F1B. With `sequenceChunks` c > 1 every c consecutive micro-batches are the
    /// chunks of one sequence, each attending to the ones before it: a chunk's backward needs
    /// the key and value gradients of every later chunk, so a rank must run a sequence's
    /// backwards last chunk first (Seq1F1B, Sun et al., NAACL 2025). GPipe, 1F1B and ZB1P do
    /// so, the last two warming up with c − 1 more forwards so that a sequence's chunks are
    /// all forwarded before its first backward.
    ///
    /// With `pairForwardBackward` (interleaved 1F1B, or 1F1B on one rank:
    /// `ScheduleKind.canPairForwardBackward`) each steady-state forward runs with a backward of
    /// another micro-batch as one overlapped pair, each one's communication under the other's
    /// compute (`pairSteadyState`): Megatron-Core's `--overlap-moe-expert-parallel-comm`, which
    /// schedules them as DualPipe schedules its pairs.
    public static func make(_ kind: ScheduleKind, pp: Int, microbatches n: Int, virtualStages v: Int = 2, sequenceChunks c: Int = 1,
                            pairForwardBackward: Bool = false) throws -> PipelineSchedule {
        try kind.checkPlan(pp: pp, microbatches: n, virtualStages: v, sequenceChunks: c)
        if pairForwardBackward { try kind.checkPairs(pp: pp, sequenceChunks: c) }
        var schedule: PipelineSchedule
        switch kind {
        case .gpipe: schedule = linear(kind, pp: pp, n: n, chunks: c, program: gpipe)
        case .oneFOneB: schedule = linear(kind, pp: pp, n: n, chunks: c, program: oneFOneB)
        case .zb1p: schedule = linear(kind, pp: pp, n: n, chunks: c, program: zb1p)
        case .interleaved: schedule = interleaved(pp: pp, n: n, v: v)
        case .dualpipe, .dualpipev: schedule = DualPipeGenerator.make(kind, pp: pp, microbatches: n)
        }
        if pairForwardBackward { schedule.program = schedule.program.map(pairSteadyState) }
        schedule.sequenceChunks = c
        return schedule
    }

    /// A rank's list with its steady state run as pairs: the forwards before its first backward
    /// stay alone (one more than the plain schedule's warm-up, so that a pair's forward and
    /// backward are of different micro-batches: on the last rank 1F1B would otherwise pair a
    /// micro-batch's forward with its own backward), then each next forward runs with the next
    /// backward, both in the plain schedule's orders, and the backwards left over run alone.
    /// Megatron-Core's combined 1F1B warms up one micro-batch more the same way.
    static func pairSteadyState(_ list: [PipelineInstruction]) -> [PipelineInstruction] {
        let ops = list.flatMap(\.ops)
        let forwards = ops.filter { $0.kind == .forward }, backwards = ops.filter { $0.kind != .forward }
        let leading = ops.firstIndex { $0.kind != .forward } ?? ops.count
        var out = forwards.prefix(leading).map { PipelineInstruction(ops: [$0]) }
        var f = leading, b = 0
        while f < forwards.count, b < backwards.count {
            out.append(PipelineInstruction(ops: [forwards[f], backwards[b]]))
            f += 1; b += 1
        }
        out += forwards[f...].map { PipelineInstruction(ops: [$0]) } + backwards[b...].map { PipelineInstruction(ops: [$0]) }
        return out
    }

    typealias RankProgram = (_ rank: Int, _ pp: Int, _ n: Int, _ chunks: Int) -> [PipelineInstruction]

    /// The micro-batch of the i-th backward a rank runs when every `chunks` micro-batches are one
    /// sequence: sequences in order, each one's chunks last to first.
    static func backwardOrder(_ i: Int, chunks c: Int) -> Int { (i / c) * c + (c - 1 - i % c) }

    /// Forwards rank r of 1F1B and ZB1P runs before its first backward: pp − r − 1, and c − 1
    /// more when sequences are split into c chunks (all of a sequence forwarded first).
    static func warmup(rank r: Int, pp: Int, n: Int, chunks c: Int) -> Int { min(pp - r - 1 + c - 1, n) }

    static func op(_ kind: PipelineOp.Kind, _ stage: Int, _ mb: Int, pipeline: Int = 0) -> PipelineInstruction {
        PipelineInstruction(ops: [PipelineOp(kind: kind, pipeline: pipeline, stage: stage, microbatch: mb)])
    }

    static func linear(_ kind: ScheduleKind, pp: Int, n: Int, chunks: Int, program: RankProgram) -> PipelineSchedule {
        PipelineSchedule(kind: kind, ranks: pp, stagesPerPipeline: pp, pipelines: 1, microbatchesPerPipeline: n,
                         program: (0..<pp).map { program($0, pp, n, chunks) }, stageSize: 1)
    }

    /// GPipe (Huang et al. 2019): all forwards, then all backwards.
    static func gpipe(rank r: Int, pp: Int, n: Int, chunks c: Int) -> [PipelineInstruction] {
        (0..<n).map { op(.forward, r, $0) } + (0..<n).map { op(.backward, r, backwardOrder($0, chunks: c)) }
    }

    /// 1F1B (PipeDream-Flush, Narayanan et al. 2021): pp−r−1 warm-up forwards, then one
    /// forward and one backward alternately, then the remaining backwards.
    static func oneFOneB(rank r: Int, pp: Int, n: Int, chunks c: Int) -> [PipelineInstruction] {
        let warmup = warmup(rank: r, pp: pp, n: n, chunks: c)
        var list = (0..<warmup).map { op(.forward, r, $0) }
        for i in 0..<(n - warmup) {
            list.append(op(.forward, r, warmup + i))
            list.append(op(.backward, r, backwardOrder(i, chunks: c)))
        }
        for i in (n - warmup)..<n { list.append(op(.backward, r, backwardOrder(i, chunks: c))) }
        return list
    }

    /// ZB-H1 (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024): 1F1B with the backward
    /// split into B (inputs, on the critical path) and W (weights). Rank r keeps r weight
    /// gradients postponed (the last rank, which has no warm-up, the most), so the input
    /// backwards travel back up the pipeline without waiting behind W; peak activations stay
    /// those of 1F1B (pp on every rank at most).
    static func zb1p(rank r: Int, pp: Int, n: Int, chunks c: Int) -> [PipelineInstruction] {
        let warmup = warmup(rank: r, pp: pp, n: n, chunks: c)
        let postponed = min(r, n)
        var list = (0..<warmup).map { op(.forward, r, $0) }
        var pending: [Int] = []
        func backward(_ mb: Int) {
            list.append(op(.backwardInput, r, mb))
            pending.append(mb)
            if pending.count > postponed { list.append(op(.backwardWeight, r, pending.removeFirst())) }
        }
        for i in 0..<(n - warmup) {
            list.append(op(.forward, r, warmup + i))
            backward(backwardOrder(i, chunks: c))
        }
        for i in (n - warmup)..<n { backward(backwardOrder(i, chunks: c)) }
        for mb in pending { list.append(op(.backwardWeight, r, mb)) }
        return list
    }

    /// Interleaved 1F1B (Narayanan et al., SC'21): each rank holds v model chunks (stage c·pp + r
    /// for chunk c); micro-batches go through in groups of pp. Needs n to be a multiple of pp.
    /// Needs v ≥ 2 and n a multiple of pp (`ScheduleKind.checkPlan`).
    static func interleaved(pp: Int, n: Int, v: Int) -> PipelineSchedule {
        let total = n * v
        func forwardOp(_ k: Int, rank r: Int) -> PipelineInstruction {
            let chunk = (k / pp) % v, mb = (k / (pp * v)) * pp + k % pp
            return op(.forward, chunk * pp + r, mb)
        }
        func backwardOp(_ k: Int, rank r: Int) -> PipelineInstruction {
            let chunk = v - 1 - (k / pp) % v, mb = (k / (pp * v)) * pp + k % pp
            return op(.backward, chunk * pp + r, mb)
        }
        let program = (0..<pp).map { r -> [PipelineInstruction] in
            let warmup = min((pp - r - 1) * 2 + (v - 1) * pp, total)
            var list = (0..<warmup).map { forwardOp($0, rank: r) }
            for i in 0..<(total - warmup) {
                list.append(forwardOp(warmup + i, rank: r))
                list.append(backwardOp(i, rank: r))
            }
            for i in (total - warmup)..<total { list.append(backwardOp(i, rank: r)) }
            return list
        }
        return PipelineSchedule(kind: .interleaved, ranks: pp, stagesPerPipeline: pp * v, pipelines: 1,
                                microbatchesPerPipeline: n, program: program, stageSize: 1 / Double(v))
    }
}
