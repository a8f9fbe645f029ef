/// Generators of per-rank instruction lists. Stage s of pipeline 0 runs on rank s unless a
/// generator says otherwise.
public enum ScheduleGenerator {
    /// Builds the schedule of `kind` for `pp` pipeline stages (devices, except DualPipeV which
    /// puts them on pp/2 devices) and `microbatches` micro-batches; `virtualStages` is v for
    /// interleaved 1F1B.
    public static func make(_ kind: ScheduleKind, pp: Int, microbatches n: Int, virtualStages v: Int = 2) throws -> PipelineSchedule {
        guard pp >= 1 else { throw ScheduleError(problem: "PP must be at least 1, got \(pp)", fix: "use --pp 1 or more") }
        guard n >= 1 else { throw ScheduleError(problem: "at least one micro-batch is needed, got \(n)", fix: "use --microbatches 1 or more") }
        switch kind {
        case .gpipe: return linear(kind, pp: pp, n: n, program: gpipe)
        case .oneFOneB: return linear(kind, pp: pp, n: n, program: oneFOneB)
        case .zb1p: return linear(kind, pp: pp, n: n, program: zb1p)
        case .interleaved: return try interleaved(pp: pp, n: n, v: v)
        case .dualpipe, .dualpipev: return try DualPipeGenerator.make(kind, pp: pp, microbatches: n)
        }
    }

    typealias RankProgram = (_ rank: Int, _ pp: Int, _ n: Int) -> [PipelineInstruction]

    static func op(_ kind: PipelineOp.Kind, _ stage: Int, _ mb: Int, pipeline: Int = 0) -> PipelineInstruction {
        PipelineInstruction(ops: [PipelineOp(kind: kind, pipeline: pipeline, stage: stage, microbatch: mb)])
    }

    static func linear(_ kind: ScheduleKind, pp: Int, n: Int, program: RankProgram) -> PipelineSchedule {
        PipelineSchedule(kind: kind, ranks: pp, stagesPerPipeline: pp, pipelines: 1, microbatchesPerPipeline: n,
                         program: (0..<pp).map { program($0, pp, n) }, stageSize: 1)
    }

    /// GPipe (Huang et al. 2019): all forwards, then all backwards.
    static func gpipe(rank r: Int, pp: Int, n: Int) -> [PipelineInstruction] {
        (0..<n).map { op(.forward, r, $0) } + (0..<n).map { op(.backward, r, $0) }
    }

    /// 1F1B (PipeDream-Flush, Narayanan et al. 2021): pp−r−1 warm-up forwards, then one
    /// forward and one backward alternately, then the remaining backwards.
    static func oneFOneB(rank r: Int, pp: Int, n: Int) -> [PipelineInstruction] {
        let warmup = min(pp - r - 1, n)
        var list = (0..<warmup).map { op(.forward, r, $0) }
        for i in 0..<(n - warmup) {
            list.append(op(.forward, r, warmup + i))
            list.append(op(.backward, r, i))
        }
        for i in (n - warmup)..<n { list.append(op(.backward, r, i)) }
        return list
    }

    /// ZB-H1 (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024): 1F1B with the backward
    /// split into B (inputs, on the critical path) and W (weights). Rank r keeps r weight
    /// gradients postponed (the last rank, which has no warm-up, the most), so the input
    /// backwards travel back up the pipeline without waiting behind W; peak activations stay
    /// those of 1F1B (pp on every rank at most).
    static func zb1p(rank r: Int, pp: Int, n: Int) -> [PipelineInstruction] {
        let warmup = min(pp - r - 1, n)
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
            backward(i)
        }
        for i in (n - warmup)..<n { backward(i) }
        for mb in pending { list.append(op(.backwardWeight, r, mb)) }
        return list
    }

    /// Interleaved 1F1B (Narayanan et al., SC'21): each rank holds v model chunks (stage c·pp + r
    /// for chunk c); micro-batches go through in groups of pp. Needs n to be a multiple of pp.
    static func interleaved(pp: Int, n: Int, v: Int) throws -> PipelineSchedule {
        guard v >= 2 else { throw ScheduleError(problem: "interleaving needs at least 2 virtual stages, got \(v)", fix: "use --virtual-stages 2 or more, or --kind 1f1b") }
        guard n % pp == 0 else {
            throw ScheduleError(problem: "interleaved 1F1B needs the micro-batches (\(n)) to be a multiple of PP (\(pp))", fix: "use \(((n + pp - 1) / pp) * pp) micro-batches")
        }
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
