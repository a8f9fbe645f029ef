import Fabric
import Hardware
import Model
import Schedules

/// Data parallelism at the end of a step. With the distributed optimizer (ZeRO-1; V3 report
/// §3.2, §3.3.3): gradients reduce-scattered over each parameter's data-parallel replicas, the
/// AdamW step on the local shard, the updated BF16 parameters all-gathered. Without it
/// (Megatron-LM 2021): gradients all-reduced, AdamW on every parameter, nothing to gather.
/// Bytes per piece come from `OptimizerStates`. Collectives are rings over the replicas as
/// they sit on the cluster (`RingLayout`). Each rank works on its own (its DP peers run the same
/// program and finish with it); the step ends with the last rank.
///
/// With `overlapGradReduce` (Megatron-LM's `--overlap-grad-reduce`, DeepSpeed's `overlap_comm`,
/// PyTorch DDP's gradient buckets) gradients are reduced bucket by bucket, one layer to a
/// bucket, as the last backward of their stage chunk on the rank makes them final: the
/// chunk's buckets become ready evenly across that backward (`RankParameters.gradientBuckets`
/// gives their order), so the reduction runs under the rest of the backward and the pipeline
/// drain, sharing the NIC with the remaining backward chunks' all-to-alls; the update and the
/// all-gather follow the last reduction. Without it everything waits for the rank's last
/// instruction.
///
/// With `overlapParamGather` (Megatron-LM's `--overlap-param-gather`) the all-gather runs bucket
/// by bucket, one layer to a bucket, in the order the next step's forwards use them, each due
/// before its layer's first forward on the rank. The next step repeats this one's timeline, so
/// with the gathers back to back from the update's end, bucket k (cumulative gather G_k, due at
/// d_k after the step's start) holds the next step back by G_k − d_k when positive; the rank's
/// step ends at the update's end plus the largest such delay (the first bucket, due at once on
/// the first rank, is always exposed).
struct DataParallelOptimizer {
    let config: StepConfiguration
    /// Effective fraction of peak HBM bandwidth of a memory-bound kernel (the calibration's
    /// element-wise figure).
    let memoryEfficiency: Double

    /// Seconds of the three parts for the given parameters (at full NIC bandwidth): the
    /// gradient reduction (a reduce-scatter, or an all-reduce without the distributed
    /// optimizer), the update, the parameter all-gather (0 without the distributed optimizer).
    struct Parts { var reduction: Double, update: Double, allGather: Double }

    /// The ring over the data-parallel replicas of a parameter. Ranks are numbered as
    /// Megatron-LM numbers them (TP innermost, then CP, then DP with each EP group a block of
    /// consecutive DP indices, PP outermost; the all-to-all's placement assumes the same), so a
    /// dense parameter's DP × CP replicas sit `tp` GPUs apart and an expert's `ep` apart (an EP
    /// group is `ep` consecutive GPUs: whole TP × CP groups, or DP indices without them; with EP 1
    /// every GPU holds every expert): those that share
    /// a scale-up domain pass their chunks over NVLink (`RingLayout`). Under DualPipe the ring
    /// takes in both copies of the stage (`stageCopies`), on ranks s and PP−1−s, other nodes.
    /// V3: a dense weight's 256 replicas sit 8 to a node; an expert's 4 on four nodes.
    func ring(replicas: Int, apart stride: Int) -> RingLayout {
        let c = config, node = c.topology.node
        let perDomain = Self.gcd(replicas, max(1, c.topology.scaleUpDomainGPUs / stride))
        return RingLayout(participants: replicas, perDomain: perDomain, scaleUpBandwidth: node.ringScaleUpBandwidth(members: perDomain),
                          scaleOutBandwidth: node.nicAchievableBandwidthPerGPU,
                          scaleUpLatency: c.topology.latency.scaleUp, scaleOutLatency: c.topology.interNodeLatency)
    }

    /// Seconds of a ring reduce-scatter of `params` in `format` over their replicas (dense and
    /// expert rings one after the other). A ring all-gather of the same bytes costs the same.
    func reduceScatter(_ params: RankParameters, in format: Precision) -> Double { reduceScatter(params, dense: format, expert: format) }

    /// The reduce-scatter of the gradients of `params`, each kind in its format.
    func reduceScatterGradients(_ params: RankParameters) -> Double {
        let o = config.optimizer
        return reduceScatter(params, dense: o.gradientFormat(expert: false), expert: o.gradientFormat(expert: true))
    }

    func reduceScatter(_ params: RankParameters, dense denseFormat: Precision, expert expertFormat: Precision) -> Double {
        let c = config
        let dense = ring(replicas: c.denseShards, apart: c.tp), expert = ring(replicas: c.expertStateReplicas, apart: c.expertGroupSize)
        return Collective.reduceScatter(bytes: params.dense * Double(denseFormat.wholeBytes), over: dense)
            + Collective.reduceScatter(bytes: params.expert * Double(expertFormat.wholeBytes), over: expert)
    }

    /// Under FSDP, one layer's work per micro-batch around its collectives: the gather of its
    /// BF16 weights and the reduce-scatter of its gradients, and the copies the implementation
    /// runs on the compute stream after each gather and before each reduce-scatter
    /// (`FullyShardedImplementation`), memory-bound at the calibration's element-wise fraction
    /// of the HBM peak.
    ///
    /// With `reshardsAfterForward` (FSDP2 with its reduction deferred to the step's last
    /// micro-batch): the gathers only, and FSDP2's copy after each of them, of the parameters
    /// FSDP shards (the non-expert ones, and the experts when they have replicas: AutoModel
    /// leaves them out of FSDP otherwise); the deferred reduction is the optimizer step's.
    func fullyShardedWork(_ params: RankParameters) -> FullyShardedLayerWork {
        let o = config.optimizer, weight = OptimizerStates.weights.wholeBytes
        guard !o.reshardsAfterForward else {
            let gathered = params.dense + (config.expertStateReplicas > 1 ? params.expert : 0)
            return FullyShardedLayerWork(gather: reduceScatter(params, in: OptimizerStates.weights), reduceScatter: 0,
                                         copyOut: memoryPass(gathered * Double(FullyShardedImplementation.fsdp2.copyOutBytes(weightBytes: weight))))
        }
        return FullyShardedLayerWork(
            gather: reduceScatter(params, in: OptimizerStates.weights), reduceScatter: reduceScatter(params, in: o.gradients),
            copyOut: memoryPass(params.total * Double(o.fullyShardedImplementation.copyOutBytes(weightBytes: weight))),
            copyIn: memoryPass(params.total * Double(o.fullyShardedImplementation.copyInBytes(weightBytes: weight, reduceBytes: o.gradients.wholeBytes))))
    }

    func parts(_ params: RankParameters) -> Parts {
        let c = config, o = c.optimizer
        let update = shardPass(params) { o.updateBytes(expert: $0) }
        // Without the distributed optimizer the gradients are all-reduced (a ring reduce-scatter
        // and all-gather of them) and nothing is gathered after the update; under FSDP every
        // micro-batch's layers have reduced and will gather their own (`FullyShardedLayers`).
        // Hybrid sharding: the groups holding the same shards all-reduce their FP32 (or BF16)
        // gradient shards once per step, a ring over the groups.
        if o.fullySharded {
            let groups = c.shardReplicaGroups
            guard groups > 1 else { return Parts(reduction: 0, update: update, allGather: 0) }
            let shard = params.dense / Double(c.denseShards) * Double(o.gradients.wholeBytes)
            return Parts(reduction: 2 * Collective.reduceScatter(bytes: shard, over: ring(replicas: groups, apart: c.tp * c.denseShards)),
                         update: update, allGather: 0)
        }
        // Resharded after forward, the next step's first forward gathers each layer again
        // (`fullyShardedWork`): no gather follows the update.
        return o.distributed
            ? Parts(reduction: reduceScatterGradients(params), update: update,
                    allGather: o.reshardsAfterForward ? 0 : reduceScatter(params, in: OptimizerStates.weights))
            : Parts(reduction: 2 * reduceScatterGradients(params), update: update, allGather: 0)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// Seconds of the all-reduce of the embedding table's gradient between the first stage's
    /// table and the last stage's copy (`StepConfiguration.lastStageCopiesEmbedding`), after
    /// the data-parallel reduction and before the update on both ranks (Megatron-LM's
    /// `finalize_model_grads` runs `_allreduce_embedding_grads` after `finish_grad_sync`): a
    /// ring of two over the NICs (PP is outermost, so the ends sit on other nodes unless the
    /// whole job fits one scale-up domain), the table's gradient in its format (under FSDP each
    /// GPU's shard of it). 0 without a copy. (`ring(replicas:apart:)` does not serve here: it
    /// counts replicas evenly filling scale-up domains, and the two ends of a small job share
    /// one domain at a stride that does not divide it.)
    var embeddingGroupAllReduce: Double {
        let c = config
        guard c.lastStageCopiesEmbedding else { return 0 }
        let o = c.optimizer, node = c.topology.node
        let bytes = Double(c.layerModel.parameters.embedding) * Double(o.gradientFormat(expert: false).wholeBytes) / Double(o.fullySharded ? c.denseShards : 1)
        let oneDomain = c.gpus <= c.topology.scaleUpDomainGPUs
        return 2 * Collective.reduceScatter(bytes: bytes, participants: 2,
                                            bandwidth: oneDomain ? node.ringScaleUpBandwidth(members: 2) : node.nicAchievableBandwidthPerGPU,
                                            latency: oneDomain ? c.topology.latency.scaleUp : c.topology.interNodeLatency)
    }

    /// One rank's end of pipeline work and end of its optimizer step, seconds from the start
    /// of the step.
    struct RankFinish: Equatable {
        var pipelineEnd: Double
        /// When its gradient reduction starts (its last instruction's end without overlap) and
        /// when the AdamW update starts (the last reduction's end).
        var reductionStart: Double, updateStart: Double
        /// The update's seconds, and the all-gather's that follow it before the next step can
        /// start: all of it, or under `overlapParamGather` what the next step's forwards
        /// cannot hide.
        var update: Double, allGather: Double
        var allGatherStart: Double { updateStart + update }
        var finish: Double { allGatherStart + allGather }
        /// The gradient reduction's kind: a reduce-scatter, or an all-reduce without the
        /// distributed optimizer.
        var reductionKind = OptimizerPart.reduceScatter
        /// Under gradient clipping, when the rank's reduction ends and its gradient norm (the
        /// local sum of squares, then the wait for every GPU's and their all-reduce) begins; the
        /// update starts after it. nil without clipping.
        var normStart: Double?
        /// Of the norm's time, the wait at the barrier for slower ranks, seconds (0 for the
        /// slowest, and without clipping).
        var barrierWait = 0.0
        /// The rank's optimizer step past its own last instruction, not counting the wait at
        /// the clipping barrier.
        var own: Double { finish - pipelineEnd - barrierWait }

        /// The parts as timeline segments of rank `rank` (no norm without clipping, no
        /// all-gather without the distributed optimizer or when the next step's forwards hide
        /// it all).
        func segments(rank: Int) -> [ScheduleSegment] {
            [(reductionKind, reductionStart, normStart ?? updateStart), (.gradientNorm, normStart ?? updateStart, updateStart),
             (.update, updateStart, allGatherStart), (.allGather, allGatherStart, finish)]
                .filter { ($0.0 != .allGather || allGather > 0) && ($0.0 != .gradientNorm || normStart != nil) }
                .map { ScheduleSegment(rank: rank, start: $0.1, end: $0.2, label: $0.0.rawValue, microbatch: -1) }
        }
    }

    /// Seconds of a memory-bound pass over the parameters of `params` whose update this GPU
    /// owns (its shard, or all of them without the distributed optimizer), moving
    /// `bytesPerParameter(expert)` through HBM at the element-wise rate (a routed expert's
    /// parameter may move other bytes: its gradient's format): the AdamW update, the clipping
    /// norm's read.
    func shardPass(_ params: RankParameters, bytesPerParameter: (_ expert: Bool) -> Int) -> Double {
        memoryPass(config.optimizerShard(params.denseOnly) * Double(bytesPerParameter(false))
                   + config.optimizerShard(params.expertOnly) * Double(bytesPerParameter(true)))
    }

    /// Seconds of a memory-bound kernel moving `bytes` through HBM, at the element-wise fraction
    /// of the device's bandwidth.
    func memoryPass(_ bytes: Double) -> Double { bytes / (config.topology.node.device.hbmBandwidth * memoryEfficiency) }

    /// Seconds of a rank's gradient norm under clipping: reading the gradients it updates once.
    func normRead(_ params: RankParameters) -> Double { shardPass(params) { config.optimizer.gradientFormat(expert: $0).wholeBytes } }

    /// Seconds of the all-reduce of the squared norms (one FP32 number per GPU) over every GPU
    /// of the cluster: latency-bound, NCCL's faster of ring and tree.
    var normAllReduce: Double {
        let c = config
        return Collective.bestAllReduce(bytes: 4, participants: c.gpus, bandwidth: c.topology.node.nicAchievableBandwidthPerGPU,
                                        latency: c.topology.interNodeLatency).seconds
    }

    /// Gradient clipping's barrier: no rank updates before every rank has reduced its gradients,
    /// read them for its share of the norm and joined the all-reduce of the sums. The ranks
    /// of the representative pipeline stand for every pipeline (they run alike).
    func clippingBarrier(_ ranks: [RankFinish], params: [RankParameters]) -> [RankFinish] {
        guard config.optimizer.clipsGradients, !ranks.isEmpty else { return ranks }
        let ready = zip(ranks, params).map { $0.updateStart + normRead($1) }
        let barrier = ready.max()! + normAllReduce
        return zip(ranks, ready).map { r, ready in
            var r = r
            r.normStart = r.updateStart
            r.updateStart = barrier
            r.barrierWait = barrier - ready - normAllReduce
            return r
        }
    }

    /// When each rank's pipeline work and optimizer step end.
    /// - Parameters:
    ///   - segments: the simulated pipeline's instructions.
    ///   - pipelineEnds: when each rank is done with the pipeline (its sends included).
    ///   - rankStages: the stages each rank holds.
    ///   - stageBuckets: each stage's parameters as gradient buckets, in the order its backward
    ///     makes them final (`RankParameters.gradientBuckets`).
    ///   - nicShare: per stage, the fraction of its backward chunk during which the NIC carries
    ///     its all-to-alls (what an overlapped reduce-scatter cannot use).
    func finishTimes(segments: [ScheduleSegment], pipelineEnds: [Double], rankStages: [[Int]], stageBuckets: [[RankParameters]],
                     nicShare: [Double]) -> [RankFinish] {
        let stageCount = stageBuckets.count
        // Per (rank, stage): the stage's last backward on the rank (full backward, weight
        // gradient or the backward half of an overlapped pair), during which its gradients
        // become final; and its first forward (alone or the forward half of a pair), before
        // which the next step needs its parameters.
        let lastBackward = Self.windows(segments, ranks: rankStages.count, stageCount: stageCount, latest: true) { s in
            switch s.label {
            case "B", "W": return s.stages.first
            case "F&B": return s.stages.last
            default: return nil
            }
        }
        let firstForward = config.overlapParamGather
            ? Self.windows(segments, ranks: rankStages.count, stageCount: stageCount, latest: false) { s in
                s.label == "F" || s.label == "F&B" ? s.stages.first : nil
            }
            : []
        let finishes = rankStages.indices.map { r in
            let stages = rankStages[r].map { $0 % stageCount }
            // Under DualPipe the reduction spans both copies of the rank's stages: it starts
            // when the mirror rank (PP−1−r) is done too (the schedule is symmetric, so it
            // seldom waits).
            let mirror = config.stageCopies > 1 ? rankStages.count - 1 - r : r
            var finish = reduceAndUpdate(stages: stages, pipelineEnd: pipelineEnds[r], ready: max(pipelineEnds[r], pipelineEnds[mirror]),
                                         lastBackward: lastBackward[r], stageBuckets: stageBuckets, nicShare: nicShare)
            if config.overlapParamGather { finish.allGather = gatherDelay(stages: stages, firstForward: firstForward[r], stageBuckets: stageBuckets) }
            return finish
        }
        return clippingBarrier(finishes, params: rankStages.map { $0.map { $0 % stageCount }.flatMap { stageBuckets[$0] }.reduce(.zero, +) })
    }

    /// A time window of a stage chunk on a rank, seconds from the step's start.
    typealias Window = (start: Double, end: Double)

    /// Per rank and stage: the window of the latest (or earliest) segment that `stage` assigns
    /// to the stage (nil: the segment is not one of those sought).
    static func windows(_ segments: [ScheduleSegment], ranks: Int, stageCount: Int, latest: Bool,
                        stage: (ScheduleSegment) -> Int?) -> [[Int: Window]] {
        var found = [[Int: Window]](repeating: [:], count: ranks)
        for s in segments {
            guard let k = stage(s).map({ $0 % stageCount }) else { continue }
            let kept = found[s.rank][k]
            if kept == nil || (latest ? s.end > kept!.end : s.start < kept!.start) { found[s.rank][k] = (s.start, s.end) }
        }
        return found
    }

    /// The rank's buckets with a time each, in time order (ties by stage, then bucket): bucket
    /// i of a stage's n, in `order` (`stageBuckets`'s or reversed), at `position(i, n)` of the
    /// stage's window (`fallback` when the rank has none for it).
    static func timedBuckets(stages: [Int], stageBuckets: [[RankParameters]], reversed: Bool, windows: [Int: Window], fallback: Window,
                             position: (Int, Int) -> Double) -> [(time: Double, parameters: RankParameters)] {
        var timed: [(time: Double, stage: Int, index: Int, parameters: RankParameters)] = []
        for s in stages {
            let window = windows[s] ?? fallback, order = reversed ? Array(stageBuckets[s].reversed()) : stageBuckets[s]
            for (i, p) in order.enumerated() { timed.append((window.start + (window.end - window.start) * position(i, order.count), s, i, p)) }
        }
        return timed.sorted { ($0.time, $0.stage, $0.index) < ($1.time, $1.stage, $1.index) }.map { ($0.time, $0.parameters) }
    }

    /// The seconds by which the rank's parameter all-gather, run bucket after bucket from the
    /// update's end, holds back the next step: max over buckets of (gathered so far − due), at
    /// least 0. A stage's buckets are due in forward order (the reverse of `stageBuckets`),
    /// bucket i of n at i/n of the stage's first forward on the rank.
    func gatherDelay(stages: [Int], firstForward: [Int: Window], stageBuckets: [[RankParameters]]) -> Double {
        var gathered = 0.0, delay = 0.0
        for bucket in Self.timedBuckets(stages: stages, stageBuckets: stageBuckets, reversed: true, windows: firstForward, fallback: (0, 0),
                                        position: { i, n in Double(i) / Double(n) }) {
            gathered += parts(bucket.parameters).allGather
            delay = max(delay, gathered - bucket.time)
        }
        return delay
    }

    /// One rank's gradient reduction and update, and its whole all-gather after them.
    /// `ready`: when every copy of the rank's stages is done with the pipeline (its own end,
    /// or under DualPipe the later of its and its mirror's).
    func reduceAndUpdate(stages: [Int], pipelineEnd end: Double, ready: Double, lastBackward: [Int: Window], stageBuckets: [[RankParameters]],
                         nicShare: [Double]) -> RankFinish {
        let kind: OptimizerPart = config.optimizer.distributed ? .reduceScatter : .allReduce
        let whole = parts(stages.flatMap { stageBuckets[$0] }.reduce(.zero, +))
        // The ends' embedding tables all-reduce their gradients after the reduction.
        let embedding = stages.contains(0) || stages.contains(stageBuckets.count - 1) ? embeddingGroupAllReduce : 0
        guard config.overlapGradReduce else {
            return RankFinish(pipelineEnd: end, reductionStart: ready, updateStart: ready + whole.reduction + embedding,
                              update: whole.update, allGather: whole.allGather, reductionKind: kind)
        }
        // Reduce bucket by bucket in the order the gradients become final (bucket i of a
        // chunk's n at (i+1)/n of its last backward); before the rank's last instruction the
        // NIC is shared with the drain's all-to-alls.
        let share = stages.map { nicShare[$0] }.max() ?? 0
        var nicFree = 0.0, firstStart = Double.infinity
        for bucket in Self.timedBuckets(stages: stages, stageBuckets: stageBuckets, reversed: false, windows: lastBackward, fallback: (end, end),
                                        position: { i, n in Double(i + 1) / Double(n) }) {
            var work = parts(bucket.parameters).reduction
            var t = max(nicFree, bucket.time)
            firstStart = min(firstStart, t)
            if t < end, share < 1 {
                let before = (end - t) * (1 - share)
                if work <= before { nicFree = t + work / (1 - share); continue }
                work -= before
                t = end
            }
            nicFree = t + work
        }
        let updateStart = max(nicFree, ready) + embedding
        return RankFinish(pipelineEnd: end, reductionStart: min(firstStart, updateStart), updateStart: updateStart,
                          update: whole.update, allGather: whole.allGather, reductionKind: kind)
    }
}
