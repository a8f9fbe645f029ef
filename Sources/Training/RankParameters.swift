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

    public static let zero = RankParameters(dense: 0, expert: 0)
    public static func + (a: RankParameters, b: RankParameters) -> RankParameters {
        RankParameters(dense: a.dense + b.dense, expert: a.expert + b.expert)
    }

    /// Per stage of a partition (`stageLayers[s]` layers each), for the TP shard one GPU holds.
    public static func perStage(_ c: StepConfiguration, stageLayers: [Int]) -> [RankParameters] {
        let arch = c.layerModel, p = arch.parameters, ep = Double(max(c.ep, 1))
        let routedPerMoELayer = Double(arch.moe.map { $0.routedExperts * arch.swigluParameters(intermediate: $0.expertIntermediateSize) } ?? 0)
        var next = 0
        return stageLayers.enumerated().map { s, n in
            var dense = 0.0, expert = 0.0
            for l in next..<(next + n) {
                let routed = (arch.moe?.isMoE(layer: l) ?? false) ? routedPerMoELayer : 0
                dense += Double(arch.layerParameters(l).total) - routed
                expert += routed / ep
            }
            next += n
            if s == 0 { dense += Double(p.embedding) }
            if s == stageLayers.count - 1 {
                // Head, final norm and the MTP modules; MTP's routed experts are sharded by EP too.
                let mtpRouted = Double(arch.mtpDepth) * routedPerMoELayer
                dense += Double(p.head + arch.hiddenSize) + Double(p.mtp) - mtpRouted
                expert += mtpRouted / ep
            }
            return RankParameters(dense: dense, expert: expert)
        }
    }

    /// Per rank of a generated schedule: the sum over the distinct stages the rank runs.
    public static func perRank(_ c: StepConfiguration, stageLayers: [Int], schedule: PipelineSchedule) -> [RankParameters] {
        let stages = perStage(c, stageLayers: stageLayers)
        return schedule.rankStages.map { $0.map { stages[$0 % stages.count] }.reduce(.zero, +) }
    }
}
