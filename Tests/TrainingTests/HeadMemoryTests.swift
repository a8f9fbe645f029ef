import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Kernels
@testable import Model
@testable import Training
import Schedules

/// What the last stage keeps for the head, the loss and the MTP modules (`HeadActivations`), and
/// FSDP2's resharded weights under the distributed optimizer's plan (`reshard_after_forward`).
@Suite struct HeadMemoryTests {
    /// Per logit, BF16 logits: fused keeps its in-place gradient (2 B); eager the caller's logits
    /// and `log_softmax`'s output (4 B) and peaks with `nll_loss_backward`'s gradient and
    /// `log_softmax_backward`'s output (8 B); eager-fp32 keeps 2 + 4 and peaks at 2 + 3 × 4;
    /// Megatron's keeps the FP32 softmax (4 B) and peaks with its BF16 gradient (4 + 2).
    @Test func bytesPerLogitByHand() {
        #expect(CrossEntropyKernels.fused.keptBytesPerLogit(format: 2) == 2 && CrossEntropyKernels.fused.peakBytesPerLogit(format: 2) == 2)
        #expect(CrossEntropyKernels.eager.keptBytesPerLogit(format: 2) == 4 && CrossEntropyKernels.eager.peakBytesPerLogit(format: 2) == 8)
        #expect(CrossEntropyKernels.eagerFP32.keptBytesPerLogit(format: 2) == 6 && CrossEntropyKernels.eagerFP32.peakBytesPerLogit(format: 2) == 14)
        for megatron in [CrossEntropyKernels.megatron, .megatronNative] {
            #expect(megatron.keptBytesPerLogit(format: 2) == 4 && megatron.peakBytesPerLogit(format: 2) == 6)
        }
    }

    /// V3 (d 7,168, vocabulary 129,280, one MTP module), a 4,096-token micro-batch, DeepSeek's
    /// savings (norm outputs recomputed), fused loss: the main pass keeps the final norm's input
    /// and 2 B per logit; the MTP module its embedding, its block, its final norm's input and
    /// its own logits. No transient. Split into chunks, each pass keeps only the gradient of its
    /// last hidden state.
    @Test func deepSeekV3ByHand() throws {
        let arch = try deepSeekStep().layerModel
        #expect(arch.hiddenSize == 7168 && arch.vocabularySize == 129_280 && arch.mtpDepth == 1)
        let head = HeadActivations(arch, tokens: 4096, sequenceSplit: 1, recomputedNorms: true, crossEntropy: .fused, mtpBlockBytes: 1e9)
        let hidden = 4096.0 * 7168 * 2, logits = 4096.0 * 129_280 * 2
        #expect(head.keptBytes == 3 * hidden + 2 * logits + 1e9)
        #expect(head.lossTransientBytes == 0)
        #expect(head.items.count == 6)
        let chunked = HeadActivations(arch, tokens: 4096, sequenceSplit: 1, recomputedNorms: true, crossEntropy: .fused, mtpBlockBytes: 1e9,
                                      eagerHeadBackward: true)
        #expect(chunked.keptBytes == 3 * hidden + 1e9)
        #expect(chunked.items.filter { $0.name.contains("gradient of the last hidden state") }.count == 2)
    }

    /// The 1T GPT of 2021 (d 25,600, vocabulary 51,200 split over TP 8: 6,400 per GPU), one
    /// 2,048-token micro-batch, no sequence parallelism, Megatron's loss: the final norm's input
    /// and output (BF16) and the FP32 softmax, 4 B per logit; above that, while the gradient is
    /// cast back, 2 B per logit once.
    @Test func megatronGPT1TByHand() throws {
        let arch = try shippedStep("megatron-1t-a100.yaml").layerModel
        #expect(arch.hiddenSize == 25_600 && arch.vocabularySize == 6_400 && arch.mtpDepth == 0)
        let head = HeadActivations(arch, tokens: 2048, sequenceSplit: 1, recomputedNorms: false, crossEntropy: .megatron, mtpBlockBytes: 0)
        let hidden = 2048.0 * 25_600 * 2, logits = 2048.0 * 6_400
        #expect(head.keptBytes == 2 * hidden + 4 * logits)
        #expect(head.lossTransientBytes == 2 * logits)
    }

    /// On V3's DualPipe plan only the two ranks that run the last stage (0 and 15: stages 0 and
    /// 15 each) hold the head's term, a whole number of micro-batches of it; the rest none.
    @Test func deepSeekV3OnlyTheLastStage() throws {
        let c = try deepSeekStep()
        let memory = try StageMemoryModel(config: c, deepSeekSavings: true, schedule: c.schedule)
        let layers = [Int](repeating: 4, count: 15) + [1]
        for r in 0..<memory.schedule.ranks {
            let term = try #require(memory.terms(rank: r, stageLayers: layers).first { $0.kind.hasPrefix("head, loss and MTP") }).bytes
            if r == 0 || r == 15 {
                let held = term / memory.head.keptBytes
                #expect(held >= 1 && held == held.rounded(), "rank \(r): \(held) micro-batches")
            } else {
                #expect(term == 0, "rank \(r)")
            }
        }
    }

    /// GPT-OSS 20B under AutoModel (one stage, eager loss, no recomputation, 8,192-token
    /// micro-batches, vocabulary 201,088, d 2,880): one micro-batch in flight keeps the final
    /// norm's input and output and 4 B per logit, and the loss's backward adds 4 B per logit.
    @Test func gptOSSEagerByHand() throws {
        let c = try shippedStep("automodel-gpt-oss-20b-h100.yaml")
        let memory = try StageMemoryModel(config: c, deepSeekSavings: false, schedule: c.schedule)
        let term = try #require(memory.terms(rank: 0, stageLayers: [24]).first { $0.kind.hasPrefix("head, loss (logits: eager") }).bytes
        let logits = 8192.0 * 201_088
        #expect(term == 2 * 8192 * 2880 * 2 + 4 * logits + 4 * logits)
    }

    /// `reshard_after_forward`: the weights as FSDP keeps them (shard + two gathered layers),
    /// the gradients and optimizer states as the distributed optimizer's plan keeps them (whole
    /// gradients, sharded states). With fsdp, distributed: false or DualPipe it is refused.
    @Test func reshardAfterForward() throws {
        let file = "automodel-gpt-oss-120b-h100.yaml"
        func terms(_ extra: String) throws -> [Double] {
            let c = try shippedStep(file, adding: extra)
            return try StageMemoryModel(config: c, deepSeekSavings: false, schedule: c.schedule).terms(rank: 0, stageLayers: [36]).map(\.bytes)
        }
        #expect(try shippedStep(file).optimizer.reshardsAfterForward)
        let plain = try terms("optimizer: {reshard_after_forward: false}")
        let reshard = try terms("optimizer: {reshard_after_forward: true}")
        let fsdp = try terms("optimizer: {reshard_after_forward: false, expert_gradients: fp32, gradient_accumulation: fused, fsdp: true}")
        #expect(reshard[0] == fsdp[0] && reshard[0] < plain[0] - 1.8e9, "weights \(reshard[0]) vs \(plain[0])")
        #expect(reshard[1] == plain[1] && reshard[2] == plain[2])
        for (extra, words) in [("optimizer: {fsdp: true, expert_gradients: fp32, gradient_accumulation: fused}", "fsdp already shards"),
                               ("optimizer: {distributed: false}", "distributed: false"),
                               ("optimizer: {fsdp: true, reshard_after_forward: false, gradient_accumulation: fused}", "one reduce format")] {
            do { _ = try shippedStep(file, adding: extra); Issue.record("accepted \(extra)") }
            catch let e as ConfigError { #expect(e.description.contains(words), "\(e)") }
        }
        var dualPipe = try deepSeekStep()
        dualPipe.optimizer.reshardsAfterForward = true
        #expect(throws: ScheduleError.self) { try dualPipe.checkShardGroup() }
    }

    /// `expert_gradients: bf16` (AutoModel's experts outside FSDP when EP spans the replicas):
    /// the gradients term is 2 B per routed expert parameter on the GPU less than with FP32, the
    /// optimizer's update reads them at 2 B (its phase shorter: AutoModel's multi-tensor kernels
    /// read the gradient twice, in `lerp_` and `addcmul_`, so 4 B less per parameter), and the
    /// label names the format.
    @Test func expertGradientsInTheirOwnFormat() throws {
        let file = "automodel-gpt-oss-120b-h100.yaml"
        let bf16 = try shippedStep(file), fp32 = try shippedStep(file, adding: "optimizer: {expert_gradients: fp32}")
        #expect(bf16.optimizer.expertGradients == .bf16 && fp32.optimizer.expertGradients == nil)
        let experts = RankParameters.perLayer(bf16).reduce(0) { $0 + $1.expert }
        #expect(experts == 2 * 36 * 3 * 2880 * 2880, "\(experts) expert parameters per GPU")   // 2 of 128 experts × 36 layers × (2d·d up, d·d down)
        func gradients(_ c: StepConfiguration) throws -> TrainingMemory.Term {
            try StageMemoryModel(config: c, deepSeekSavings: false, schedule: c.schedule).terms(rank: 0, stageLayers: [36])[1]
        }
        let a = try gradients(bf16), b = try gradients(fp32)
        #expect(abs(b.bytes - a.bytes - 2 * experts) < 1, "\(b.bytes - a.bytes)")
        #expect(a.kind == "gradients (FP32; routed experts BF16)" && b.kind == "gradients (FP32)")
        #expect(bf16.optimizer.updateKernels == .foreach && bf16.optimizer.updateBytes(expert: true) == fp32.optimizer.updateBytes(expert: true) - 4)
    }

    /// `reshard_after_forward` in time: every micro-batch gathers the non-expert weights again
    /// (the experts, outside FSDP at one replica, are not gathered) and FSDP2 copies each
    /// gathered layer out of its buffer (4 B per parameter, forward and backward), so the
    /// 120B's FSDP share is its copies (8 B per non-expert parameter per micro-batch) plus the
    /// first gathers that show; nothing is reduced per micro-batch and no gather follows the
    /// update. Without it the share is 0 and the step shorter.
    @Test func reshardAfterForwardGathersEachMicroBatch() throws {
        let calibration = try KernelCalibration.hopper()
        func step(_ c: StepConfiguration) throws -> StepResult {
            let sim = try StepSimulation(config: c, calibration: calibration)
            return try sim.run(microbatches: c.microbatches, plan: try sim.plan())
        }
        let c = try shippedStep("automodel-gpt-oss-120b-h100.yaml")
        var whole = c
        whole.optimizer.reshardsAfterForward = false
        let resharded = try step(c), kept = try step(whole)
        let share = try #require(resharded.timeBreakdownPerRank.first)
        #expect(kept.timeBreakdownPerRank.first?.fullyShardedS == 0)
        let dense = (RankParameters.perLayer(c) + [RankParameters.firstStageExtra(c), RankParameters.lastStageExtra(c)]).reduce(0) { $0 + $1.dense }
        let copies = Double(c.microbatches) * 8 * dense / (c.topology.node.device.hbmBandwidth * calibration.elementwiseEfficiency)
        #expect(abs(share.fullyShardedCopiesS - copies) < 1e-6 * copies, "\(share.fullyShardedCopiesS) against \(copies)")
        #expect(share.fullyShardedS > share.fullyShardedCopiesS && share.fullyShardedS < 0.1, "\(share.fullyShardedS)")
        #expect(resharded.stepTimeS > kept.stepTimeS)
        let optimizer = DataParallelOptimizer(config: c, memoryEfficiency: calibration.elementwiseEfficiency)
        let layer = optimizer.fullyShardedWork(RankParameters.perLayer(c)[0])
        #expect(layer.reduceScatter == 0 && layer.copyIn == 0)
        #expect(layer.gather == optimizer.reduceScatter(RankParameters.perLayer(c)[0].denseOnly, in: .bf16))
        #expect(optimizer.parts(RankParameters.perLayer(c)[0]).allGather == 0)
    }
}
