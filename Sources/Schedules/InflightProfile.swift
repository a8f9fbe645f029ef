/// How many micro-batches' activations each rank of a schedule holds, stage by stage, at the
/// moments its holding can peak. It follows from each rank's program order alone: a rank runs
/// its instructions one after another, an instruction's forwards take their activations when
/// it starts, and a full backward or a weight backward releases them when it ends (an
/// input-only backward keeps them for the weight pass; ZB1P, Qi et al. 2024). So the timing of
/// the schedule, and with it the stage partition, does not change the profile: any per-stage
/// activation size can be priced against it afterwards (`peak`), which is what lets the stage
/// partitioner ask "does this partition fit?" without re-running the schedule.
public struct InflightProfile: Sendable, Equatable {
    /// Per rank: the stages it runs, ascending (`PipelineSchedule.rankStages`).
    public let rankStages: [[Int]]
    /// Per rank: in-flight micro-batch counts, one per entry of `rankStages[r]`, at each moment a
    /// peak can occur (an instruction's forwards started, nothing of it released yet); only
    /// the vectors that no other one equals or exceeds in every stage are kept.
    public let peakCounts: [[[Int]]]

    public init(_ schedule: PipelineSchedule) {
        rankStages = schedule.rankStages
        peakCounts = zip(schedule.program, rankStages).map { program, stages in
            let slot = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($1, $0) })
            var held = [Int](repeating: 0, count: stages.count)
            var candidates: [[Int]] = []
            for instruction in program {
                var took = false
                for op in instruction.ops where op.kind == .forward { held[slot[op.stage]!] += 1; took = true }
                if took { candidates.append(held) }
                for op in instruction.ops where op.kind == .backward || op.kind == .backwardWeight { held[slot[op.stage]!] -= 1 }
            }
            return Self.undominated(candidates)
        }
    }

    /// The vectors not dominated by another (≥ in every entry), first occurrence kept, in order.
    static func undominated(_ vectors: [[Int]]) -> [[Int]] {
        var kept: [[Int]] = []
        for v in vectors where !kept.contains(where: { k in zip(k, v).allSatisfy { $0 >= $1 } }) {
            kept.removeAll { k in zip(v, k).allSatisfy { $0 >= $1 } }
            kept.append(v)
        }
        return kept
    }

    /// The rank's peak of Σ over its stages of `weight(stage)` × in-flight count (bytes, say,
    /// with the activation bytes of one micro-batch of each stage), and the counts where it is
    /// reached (the first such vector). 0 and no counts on a rank that never runs a forward.
    public func peak(rank r: Int, weight: (Int) -> Double) -> (value: Double, counts: [Int]) {
        var best = (value: 0.0, counts: [Int]())
        for counts in peakCounts[r] {
            let value = zip(rankStages[r], counts).reduce(0.0) { $0 + weight($1.0) * Double($1.1) }
            if best.counts.isEmpty || value > best.value { best = (value, counts) }
        }
        return best
    }
}
