import Fabric
import Hardware
import Model
import Schedules

/// ZeRO-1 data parallelism at the end of a step (V3 report §3.2, §3.3.3): gradients (FP32)
/// reduce-scattered over each parameter's data-parallel replicas, the AdamW step on the local
/// shard (FP32 master, BF16 moments), the updated BF16 parameters all-gathered. Collectives are
/// ring algorithms on the NICs (`Collective`). Each rank works on its own (its DP peers run the
/// same program and finish with it); the step ends with the last rank.
///
/// With `overlapGradReduce` (Megatron-LM's `--overlap-grad-reduce`, DeepSpeed's `overlap_comm`)
/// a stage chunk's gradients are reduce-scattered as soon as the chunk's last backward on the
/// rank has run — during the pipeline drain — while the rank's remaining backward chunks use
/// the same NIC for their all-to-alls; the update and the all-gather follow the last
/// reduce-scatter. Without it everything waits for the rank's last instruction.
struct ZeROOptimizer {
    let config: StepConfiguration
    /// Effective fraction of peak HBM bandwidth of a memory-bound kernel (the calibration's
    /// element-wise figure).
    let memoryEfficiency: Double

    /// Seconds of the three parts for the given parameters (at full NIC bandwidth).
    struct Parts { var reduceScatter: Double, update: Double, allGather: Double }

    func parts(_ params: RankParameters) -> Parts {
        let c = config, node = c.topology.node
        let denseReplicas = c.dp, expertReplicas = max(c.dp / max(c.ep, 1), 1)
        let nic = node.nicAchievableBandwidth * Double(node.computeNICs) / Double(node.gpus)
        let latency = c.topology.interNodeLatency
        func rs(_ bytes: Double, _ p: Int) -> Double { Collective.reduceScatter(bytes: bytes, participants: p, bandwidth: nic, latency: latency) }
        func ag(_ bytes: Double, _ p: Int) -> Double { Collective.allGather(bytes: bytes, participants: p, bandwidth: nic, latency: latency) }
        // AdamW on the shard: read grad 4 + master 4 + moments 2+2, write master 4 + moments 4 + BF16 weight 2 = 22 B.
        let shard = params.dense / Double(denseReplicas) + params.expert / Double(expertReplicas)
        return Parts(reduceScatter: rs(params.dense * 4, denseReplicas) + rs(params.expert * 4, expertReplicas),
                     update: shard * 22 / (node.device.hbmBandwidth * memoryEfficiency),
                     allGather: ag(params.dense * 2, denseReplicas) + ag(params.expert * 2, expertReplicas))
    }

    /// One rank's end of pipeline work and end of its optimizer step, seconds from the start
    /// of the step.
    struct RankFinish: Equatable {
        var pipelineEnd: Double
        /// When its first reduce-scatter starts (its last instruction's end without overlap)
        /// and when the AdamW update starts (the last reduce-scatter's end).
        var reduceScatterStart: Double, updateStart: Double
        /// The update's and the all-gather's seconds (they run back to back after it).
        var update: Double, allGather: Double
        var allGatherStart: Double { updateStart + update }
        var finish: Double { allGatherStart + allGather }
        /// The rank's ZeRO-1 step past its own last instruction.
        var own: Double { finish - pipelineEnd }

        /// The three parts as timeline segments of rank `rank`.
        func segments(rank: Int) -> [ScheduleSegment] {
            [(OptimizerPart.reduceScatter, reduceScatterStart, updateStart), (.update, updateStart, allGatherStart), (.allGather, allGatherStart, finish)]
                .map { ScheduleSegment(rank: rank, start: $0.1, end: $0.2, label: $0.0.rawValue, microbatch: -1) }
        }
    }

    /// When each rank's pipeline work and optimizer step end.
    /// - Parameters:
    ///   - segments: the simulated pipeline's instructions.
    ///   - rankStages: the stages each rank holds.
    ///   - stageParameters: parameters of each stage.
    ///   - nicShare: per stage, the fraction of its backward chunk during which the NIC carries
    ///     its all-to-alls (what an overlapped reduce-scatter cannot use).
    func finishTimes(segments: [ScheduleSegment], rankStages: [[Int]], stageParameters: [RankParameters],
                     nicShare: [Double]) -> [RankFinish] {
        let stageCount = stageParameters.count
        var end = [Double](repeating: 0, count: rankStages.count)
        // Per (rank, stage): when the stage's gradients on the rank are final (its last full
        // backward, weight-gradient or the backward half of an overlapped pair).
        var ready = [[Int: Double]](repeating: [:], count: rankStages.count)
        for s in segments {
            end[s.rank] = max(end[s.rank], s.end)
            let backwardStage: Int?
            switch s.label {
            case "B", "W": backwardStage = s.stages.first
            case "F&B": backwardStage = s.stages.last
            default: backwardStage = nil
            }
            if let b = backwardStage { ready[s.rank][b % stageCount] = max(ready[s.rank][b % stageCount] ?? 0, s.end) }
        }
        return rankStages.indices.map { r in
            let stages = rankStages[r].map { $0 % stageCount }
            let whole = parts(stages.map { stageParameters[$0] }.reduce(.zero, +))
            guard config.overlapGradReduce else {
                return RankFinish(pipelineEnd: end[r], reduceScatterStart: end[r], updateStart: end[r] + whole.reduceScatter,
                                  update: whole.update, allGather: whole.allGather)
            }
            // Reduce-scatter chunk by chunk in the order their gradients become final; before
            // the rank's last instruction the NIC is shared with the drain's all-to-alls.
            let share = stages.map { nicShare[$0] }.max() ?? 0
            var nicFree = 0.0, firstStart = Double.infinity
            for s in stages.sorted(by: { (ready[r][$0] ?? end[r], $0) < (ready[r][$1] ?? end[r], $1) }) {
                var work = parts(stageParameters[s]).reduceScatter
                var t = max(nicFree, ready[r][s] ?? end[r])
                firstStart = min(firstStart, t)
                if t < end[r], share < 1 {
                    let before = (end[r] - t) * (1 - share)
                    if work <= before { nicFree = t + work / (1 - share); continue }
                    work -= before
                    t = end[r]
                }
                nicFree = t + work
            }
            let updateStart = max(nicFree, end[r])
            return RankFinish(pipelineEnd: end[r], reduceScatterStart: min(firstStart, updateStart), updateStart: updateStart,
                              update: whole.update, allGather: whole.allGather)
        }
    }
}
