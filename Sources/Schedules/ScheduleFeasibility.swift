/// The rules a schedule puts on a plan, checked without generating it, so a step
/// configuration can refuse an impossible plan before anything divides by its sizes.
extension ScheduleKind {
    /// The most (stage, micro-batch) pairs one schedule may hold: 1,000,000, 500 times V3's
    /// 16 × 120; each becomes a forward, a backward and possibly a weight instruction, about
    /// 1 GB at the bound (`llmsim schedule --kind 1f1b --pp 16 --microbatches 100000` measured
    /// 1.3 GB and 4 s), so a unit slip cannot exhaust memory.
    public static let maxStageMicrobatches = 1_000_000

    /// Throws with the rule broken and the fix unless `pp` stages, `microbatches` micro-batches
    /// (`virtualStages` model chunks per rank for interleaving, sequences split into
    /// `sequenceChunks` micro-batches) make a schedule of this kind.
    public func checkPlan(pp: Int, microbatches n: Int, virtualStages v: Int = 2, sequenceChunks c: Int = 1) throws {
        guard pp >= 1 else { throw ScheduleError(problem: "PP must be at least 1, got \(pp)", fix: "use a PP (--pp, parallel.pp) of 1 or more") }
        guard n >= 1 else { throw ScheduleError(problem: "at least one micro-batch is needed, got \(n)", fix: "use 1 or more micro-batches (--microbatches, microbatches)") }
        let chunksPerRank = self == .interleaved ? max(v, 1) : 1
        let (perStage, o1) = pp.multipliedReportingOverflow(by: n), (work, o2) = perStage.multipliedReportingOverflow(by: chunksPerRank)
        guard !o1, !o2, work <= Self.maxStageMicrobatches else {
            throw ScheduleError(problem: "PP \(pp) × \(n) micro-batches\(chunksPerRank > 1 ? " × \(chunksPerRank) virtual stages" : "") is beyond the \(Self.maxStageMicrobatches) stage micro-batches llmsim schedules in one step (about 1 GB of instructions)",
                                fix: "a step has tens to hundreds of micro-batches per pipeline (V3: 120 on PP16); use fewer micro-batches or a shallower pipeline")
        }
        guard c >= 1, n % c == 0 else {
            throw ScheduleError(problem: "\(n) micro-batches are not whole sequences of \(c) chunks", fix: "use a multiple of \(c) micro-batches")
        }
        try checkSequenceChunks(c)
        switch self {
        case .gpipe, .oneFOneB, .zb1p: return
        case .interleaved:
            guard v >= 2 else { throw ScheduleError(problem: "interleaving needs at least 2 virtual stages, got \(v)", fix: "use 2 or more virtual stages (--virtual-stages, virtual_stages), or the 1f1b schedule") }
            guard n % pp == 0 else {
                throw ScheduleError(problem: "interleaved 1F1B needs the micro-batches (\(n)) to be a multiple of PP (\(pp))", fix: "use \(((n + pp - 1) / pp) * pp) micro-batches")
            }
        case .dualpipe, .dualpipev:
            // DualPipe runs stage s and PP−1−s on rank s (two directions); DualPipeV folds PP
            // stages onto PP/2 ranks: both need stages in pairs.
            guard pp % 2 == 0 else {
                throw ScheduleError(problem: "\(rawValue) needs an even number of pipeline stages, got \(pp)", fix: "use an even PP of 2 or more (--pp, parallel.pp)")
            }
            guard n % 2 == 0 else {
                throw ScheduleError(problem: "\(rawValue) needs an even number of micro-batches, got \(n)", fix: "use \(n + 1) micro-batches")
            }
            let devices = self == .dualpipev ? pp / 2 : pp
            guard n >= 2 * devices else {
                throw ScheduleError(problem: "\(rawValue) needs at least \(2 * devices) micro-batches (2 × \(devices) ranks), got \(n)",
                                    fix: "use at least \(2 * devices) micro-batches")
            }
        }
    }
}
