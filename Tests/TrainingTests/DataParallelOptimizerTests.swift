import CostModel
import Hardware
import Schedules
import Testing
@testable import Model
@testable import Training

/// The optimizer step's data-parallel collectives and states (`DataParallelOptimizer`,
/// `OptimizerStates`).
@Suite struct DataParallelOptimizerTests {
    func optimizer(_ c: StepConfiguration) -> DataParallelOptimizer { DataParallelOptimizer(config: c, memoryEfficiency: 0.6) }

    /// Megatron-LM's rank order (TP innermost, then DP, PP outermost) places a dense
    /// parameter's replicas `tp` GPUs apart: V3 (TP 1) has all 8 GPUs of a node in one ring,
    /// and an expert's 2 replicas (64 GPUs apart) on different nodes; Megatron 1T (TP 8) one
    /// replica per node; TP 2 four per node.
    @Test func ringsFollowTheRankOrder() throws {
        let v3 = try deepSeekStep()
        #expect(optimizer(v3).ring(replicas: v3.dp, apart: v3.tp).perDomain == 8)
        #expect(optimizer(v3).ring(replicas: v3.dp / v3.ep, apart: v3.tp * v3.ep).perDomain == 1)
        var megatron = try megatronStep()
        #expect(optimizer(megatron).ring(replicas: megatron.dp, apart: megatron.tp).perDomain == 1)
        megatron.tp = 2
        #expect(optimizer(megatron).ring(replicas: megatron.dp, apart: megatron.tp).perDomain == 4)
        // 12 replicas, 4 per node at TP 2 → 3 nodes; 6 replicas at TP 8 do not share a node.
        #expect(optimizer(megatron).ring(replicas: 12, apart: 2).domains == 3)
    }

    /// Gradient clipping (V3 §4.2, norm 1.0) is a barrier: two ranks whose reductions end at
    /// 1 s and 3 s both update once the later one has read its gradients for the norm and the
    /// norms are all-reduced over the cluster (2,048 GPUs: 2 × 11 hops of 3.7 µs by tree); the
    /// early rank's own time leaves out its 2 s wait. Off, each updates after its own reduction.
    @Test func clippingIsABarrier() throws {
        var c = try deepSeekStep()
        let params = RankParameters(dense: 1e9, expert: 1e9)
        let segments = [0, 1].map { ScheduleSegment(rank: $0, start: 0, end: 1, label: "F", microbatch: 0, stages: [$0]) }
        func finish(_ c: StepConfiguration) -> [DataParallelOptimizer.RankFinish] {
            optimizer(c).finishTimes(segments: segments, pipelineEnds: [1, 3], rankStages: [[0], [1]], stageBuckets: [[params], [params]], nicShare: [0, 0])
        }
        c.schedule = .zb1p   // one copy per stage: each rank reduces on its own
        // Both ranks hold an end, whose embedding tables all-reduce their gradients after the
        // reduction (the last stage's copy, for the MTP module).
        let o = optimizer(c), reduction = o.parts(params).reduction + o.embeddingGroupAllReduce
        let clipped = finish(c)
        #expect(abs(o.normAllReduce - 22 * 3.7e-6) < 1e-6)
        let barrier = 3 + reduction + o.normRead(params) + o.normAllReduce
        #expect(clipped.allSatisfy { abs($0.updateStart - barrier) < 1e-12 })
        #expect(abs(clipped[0].barrierWait - 2) < 1e-12 && abs(clipped[1].barrierWait) < 1e-12)
        #expect(abs(clipped[0].own - clipped[1].own) < 1e-12)
        c.optimizer.clipsGradients = false
        let free = finish(c)
        #expect(abs(free[0].updateStart - (1 + reduction)) < 1e-12 && abs(free[1].updateStart - (3 + reduction)) < 1e-12)
        #expect(try shippedStep("deepseek-v3.yaml", adding: "optimizer: {clip_grad_norm: false}").optimizer.clipsGradients == false)
    }

    /// DualPipe's two copies of a stage (ranks s and PP−1−s) sum their gradients like
    /// replicas: V3's dense ring has 256 members, 8 per node; an expert's 4 sit on four nodes,
    /// so its reduce-scatter sends 3/4 of the bytes over the NIC instead of 1/2 (1.5×), and
    /// each GPU updates half the shard. The synchronisation groups (EP groups) stay 2.
    @Test func dualPipeCopiesShareTheGradients() throws {
        let v3 = try deepSeekStep()
        #expect(v3.stageCopies == 2 && v3.denseShards == 256 && v3.expertStateReplicas == 4 && v3.synchronisationGroups == 2)
        #expect(optimizer(v3).ring(replicas: v3.denseShards, apart: v3.tp).perDomain == 8)
        #expect(optimizer(v3).ring(replicas: v3.expertStateReplicas, apart: v3.expertGroupSize).domains == 4)
        var single = v3
        single.schedule = .zb1p
        #expect(single.stageCopies == 1 && single.denseShards == 128 && single.expertStateReplicas == 2)
        let experts = RankParameters(dense: 0, expert: 1.41e9)
        let dual = optimizer(v3).parts(experts), one = optimizer(single).parts(experts)
        #expect(abs(dual.reduction / one.reduction - 1.5) < 1e-3)   // three hop latencies against one
        #expect(abs(dual.update / one.update - 0.5) < 1e-12)
    }

    /// Without the distributed optimizer the gradients are all-reduced (a reduce-scatter and an
    /// all-gather of the gradient bytes), nothing is gathered afterwards, and every replica
    /// updates every parameter instead of its shard: 1/(2 DP) under DualPipe, whose two copies
    /// of each stage share the states.
    @Test func withoutTheDistributedOptimizer() throws {
        var c = try deepSeekStep()
        let params = RankParameters(dense: 1.86e9, expert: 0)
        let sharded = optimizer(c).parts(params)
        c.optimizer.distributed = false
        let whole = optimizer(c).parts(params)
        #expect(whole.allGather == 0)
        #expect(abs(whole.reduction / (2 * sharded.reduction) - 1) < 1e-12)
        #expect(abs(whole.update / sharded.update - Double(2 * c.dp)) < 1e-9)
        // The timeline: the all-reduce, the gradient norm (clipping), then AdamW, and no
        // all-gather; without clipping no norm.
        let segment = ScheduleSegment(rank: 0, start: 0, end: 1, label: "F", microbatch: 0, stages: [0])
        func finish(_ c: StepConfiguration) -> DataParallelOptimizer.RankFinish {
            optimizer(c).finishTimes(segments: [segment], pipelineEnds: [segment.end], rankStages: [[0]], stageBuckets: [[params]], nicShare: [0])[0]
        }
        let o = optimizer(c)
        #expect(finish(c).segments(rank: 0).map(\.label) == ["AR", "norm", "AdamW"])
        #expect(abs(finish(c).own - whole.reduction - o.normRead(params) - o.normAllReduce - whole.update) < 1e-12)
        c.optimizer.clipsGradients = false
        #expect(finish(c).segments(rank: 0).map(\.label) == ["AR", "AdamW"])
        #expect(abs(finish(c).own - whole.reduction - whole.update) < 1e-12)
    }

    /// Gradient buckets (PyTorch DDP, Megatron's `--overlap-grad-reduce`): a stage whose last
    /// backward runs from 0 to 1 s makes its three equal layer buckets final at 1/3, 2/3 and 1 s;
    /// each bucket's all-reduce (w seconds, w < 1/3) runs as soon as it is ready, so only the
    /// last one sticks out past the pipeline. Without the overlap the whole all-reduce waits
    /// for the end.
    @Test func bucketsReduceUnderTheBackward() throws {
        var c = try megatronStep()
        c.overlapGradReduce = true
        c.optimizer.clipsGradients = false
        let bucket = RankParameters(dense: 1e8, expert: 0)
        let w = optimizer(c).parts(bucket).reduction
        #expect(w > 0 && w < 1.0 / 3)
        // The one stage is both ends: the GPT's tied head is a copy of the embedding table on
        // the last stage, whose gradient is all-reduced with the first stage's after the rest.
        let tied = optimizer(c).embeddingGroupAllReduce
        let segment = ScheduleSegment(rank: 0, start: 0, end: 1, label: "B", microbatch: 0, stages: [0])
        func finish(_ c: StepConfiguration) -> DataParallelOptimizer.RankFinish {
            optimizer(c).finishTimes(segments: [segment], pipelineEnds: [1], rankStages: [[0]], stageBuckets: [[bucket, bucket, bucket]], nicShare: [0])[0]
        }
        let overlapped = finish(c)
        #expect(abs(overlapped.reductionStart - 1.0 / 3) < 1e-12)
        #expect(abs(overlapped.updateStart - (1 + w + tied)) < 1e-12)
        c.overlapGradReduce = false
        let plain = finish(c)
        #expect(plain.reductionStart == 1)
        #expect(abs(plain.updateStart - (1 + optimizer(c).parts(RankParameters(dense: 3e8, expert: 0)).reduction + tied)) < 1e-12)
    }

    /// Parameter buckets gathered under the next step's forwards (Megatron's
    /// `--overlap-param-gather`): three equal buckets of w seconds each, due at 0, L/3 and 2L/3
    /// of a first forward from 0 to L. With L = 6w only the first bucket (due at once) holds the
    /// next step back, by w; with L = 1.5w the third is late by 3w − w = 2w. Without the
    /// overlap the whole gather follows the update.
    @Test func parameterGatherUnderTheNextForwards() throws {
        var c = try megatronStep()
        c.optimizer.distributed = true
        let bucket = RankParameters(dense: 1e8, expert: 0)
        let w = optimizer(c).parts(bucket).allGather
        #expect(w > 0)
        func finish(forward length: Double) -> DataParallelOptimizer.RankFinish {
            let forward = ScheduleSegment(rank: 0, start: 0, end: length, label: "F", microbatch: 0, stages: [0])
            let backward = ScheduleSegment(rank: 0, start: length, end: 2 * length, label: "B", microbatch: 0, stages: [0])
            return optimizer(c).finishTimes(segments: [forward, backward], pipelineEnds: [2 * length], rankStages: [[0]],
                                            stageBuckets: [[bucket, bucket, bucket]], nicShare: [0])[0]
        }
        c.overlapParamGather = true
        #expect(abs(finish(forward: 6 * w).finish - finish(forward: 6 * w).allGatherStart - w) < 1e-12)
        #expect(abs(finish(forward: 1.5 * w).finish - finish(forward: 1.5 * w).allGatherStart - 2 * w) < 1e-12)
        #expect(finish(forward: 6 * w).segments(rank: 0).last?.label == "AG")
        c.overlapParamGather = false
        let plain = finish(forward: 6 * w)
        #expect(abs(plain.finish - plain.allGatherStart - optimizer(c).parts(RankParameters(dense: 3e8, expert: 0)).allGather) < 1e-12)
    }

    /// A stage's buckets in backward order: the last stage's head first, its layers last to
    /// first, the first stage's embedding last; together they are the stage's parameters.
    @Test func gradientBucketsInBackwardOrder() throws {
        let c = try deepSeekStep()
        let layers = [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 1]
        let buckets = RankParameters.gradientBuckets(c, stageLayers: layers), stages = RankParameters.perStage(c, stageLayers: layers)
        #expect(buckets.map(\.count) == [5] + Array(repeating: 4, count: 14) + [2])
        #expect(buckets[0].last == RankParameters.firstStageExtra(c))
        #expect(buckets[15].first == RankParameters.lastStageExtra(c))
        // Stage 0 holds the 3 dense layers then an MoE layer: the MoE layer's bucket comes first.
        #expect(buckets[0][0].expert > 0 && buckets[0][1].expert == 0)
        #expect(zip(buckets, stages).allSatisfy { $0.reduce(.zero, +) == $1 })
    }

    /// Bytes per parameter. V3 (§3.3.3): AdamW moves 22 B per updated parameter; the states are
    /// 4 + 2 + 2 B. Megatron-LM 2021 (FP16 weights and gradients, FP32 master and moments):
    /// 2 + 2 + 12 = 16 B per parameter on every replica — the mixed-precision Adam count of
    /// Rajbhandari et al., ZeRO (SC 2020) §3.1 (K = 12).
    @Test func bytesPerParameter() throws {
        #expect(OptimizerStates.deepSeekV3.updateBytes == 22 && OptimizerStates.deepSeekV3.stateBytes == 8)
        let c = try megatronStep()
        var megatron2021 = OptimizerStates(distributed: false, moments: .fp32, gradients: .fp16)
        megatron2021.updateKernels = .megatron
        #expect(c.optimizer == megatron2021)
        let layers = Array(repeating: 2, count: 64)
        let m = try TrainingMemory.compute(config: c, stageLayers: layers, deepSeekSavings: false, schedule: c.schedule)
        func term(_ prefix: String) throws -> Double { try #require(m.breakdown.first { $0.kind.hasPrefix(prefix) }).bytes }
        let weights = try term("weights"), gradients = try term("gradients (FP16)"), states = try term("optimizer: FP32 master + FP32 moments, not sharded")
        #expect(abs((weights + gradients + states) / (weights / 2) - 16) < 1e-9)
    }
}
