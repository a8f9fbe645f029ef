import Model
import Schedules

/// Parameters one GPU holds, split into routed-expert parameters (sharded by EP, their ZeRO-1
/// states by DP/EP) and the rest (ZeRO-1 states sharded by DP). Stage 0 also holds the
/// embedding; the last stage the head, final norm and MTP modules (DualPipe puts both ends on
/// rank 0). One source for the memory of a rank and the time of its optimizer step.
public struct RankParameters: Sendable, Equatable {
    public var dense: Double
    public var expert: Double
    public var total: Double { dense + expert }
    /// The non-expert part alone, and the routed experts' alone (for what differs by kind:
    /// sharding, gradient format).
    public var denseOnly: RankParameters { RankParameters(dense: dense, expert: 0) }
    public var expertOnly: RankParameters { RankParameters(dense: 0, expert: expert) }

    public static let zero = RankParameters(dense: 0, expert: 0)
    public static func + (a: RankParameters, b: RankParameters) -> RankParameters {
        RankParameters(dense: a.dense + b.dense, expert: a.expert + b.expert)
    }

    /// Per layer of the model, for the TP shard one GPU holds (routed experts: 1/EP of them,
    /// each a 1/expert-TP slice).
    public static func perLayer(_ c: StepConfiguration) -> [RankParameters] {
        let arch = c.layerModel, split = Double(c.expertGroupSize), routed = routedPerMoELayer(c)
        return (0..<arch.layers).map { l in
            let r = (arch.moe?.isMoE(layer: l) ?? false) ? routed : 0
            return RankParameters(dense: Double(arch.layerParameters(l).total) - r, expert: r / split)
        }
    }

    /// What the first stage holds besides its layers: the embedding.
    public static func firstStageExtra(_ c: StepConfiguration) -> RankParameters {
        RankParameters(dense: Double(c.layerModel.parameters.embedding), expert: 0)
    }

    /// What the last stage holds besides its layers: the head, the final norm and the MTP
    /// modules (MTP's routed experts split by EP and expert-TP too), and its copy of the
    /// embedding table when it needs one (`StepConfiguration.lastStageCopiesEmbedding`).
    public static func lastStageExtra(_ c: StepConfiguration) -> RankParameters {
        let arch = c.layerModel, p = arch.parameters
        let mtpRouted = Double(arch.mtpDepth) * routedPerMoELayer(c)
        let copy = c.lastStageCopiesEmbedding ? Double(p.embedding) : 0
        return RankParameters(dense: Double(p.head + arch.hiddenSize) + Double(p.mtp) - mtpRouted + copy, expert: mtpRouted / Double(c.expertGroupSize))
    }

    /// Routed-expert parameters of one MoE layer, all experts; 0 for a dense model.
    static func routedPerMoELayer(_ c: StepConfiguration) -> Double {
        let arch = c.layerModel
        return Double(arch.moe.map { $0.routedExperts * arch.swigluParameters(intermediate: $0.expertIntermediateSize) } ?? 0)
    }

    /// Per stage of a partition (`stageLayers[s]` layers each), for the TP shard one GPU holds.
    public static func perStage(_ c: StepConfiguration, stageLayers: [Int]) -> [RankParameters] {
        gradientBuckets(c, stageLayers: stageLayers).map { $0.reduce(.zero, +) }
    }

    /// Per stage, its parameters in the order a backward pass makes their gradients final: the
    /// last stage's head, final norm and MTP first, then the layers from the last to the first,
    /// the first stage's embedding last. One bucket per layer, as a gradient-reduction overlap
    /// launches them (`DataParallelOptimizer`).
    public static func gradientBuckets(_ c: StepConfiguration, stageLayers: [Int]) -> [[RankParameters]] {
        let layers = perLayer(c), first = firstStageExtra(c), last = lastStageExtra(c)
        var next = 0
        return stageLayers.enumerated().map { s, n in
            var buckets = Array(layers[next..<(next + n)].reversed())
            next += n
            if s == stageLayers.count - 1 { buckets.insert(last, at: 0) }
            if s == 0 { buckets.append(first) }
            return buckets
        }
    }

    /// Per rank of a generated schedule: the sum over the distinct stages the rank runs.
    public static func perRank(_ c: StepConfiguration, stageLayers: [Int], schedule: PipelineSchedule) -> [RankParameters] {
        let stages = perStage(c, stageLayers: stageLayers)
        return schedule.rankStages.map { $0.map { stages[$0 % stages.count] }.reduce(.zero, +) }
    }
}
