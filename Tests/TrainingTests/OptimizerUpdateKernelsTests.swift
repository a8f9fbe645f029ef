import ConfigIO
import CostModel
import Testing
@testable import Training

/// The kernels that run the AdamW update (`optimizer.update_kernels`): one fused kernel,
/// Megatron-Core's distributed optimizer with its FP32 main-gradient and weight copies, or
/// PyTorch's multi-tensor `_foreach_` passes (`_multi_tensor_adam`).
@Suite struct OptimizerUpdateKernelsTests {
    /// Bytes per parameter by hand.
    /// - fused, V3 (FP32 gradient and master, BF16 moments): 4 + 2 × (4 + 2 × 2) + 2 = 22 B.
    /// - megatron, V3: no gradient copy, fused Adam 4 + 2 × 8 = 20, the master copied 4 + 2: 26 B;
    ///   the Megatron-Bridge Llama rows (BF16 gradients, FP32 moments): the gradient made FP32
    ///   2 + 4, Adam 4 + 2 × (4 + 8), the copy 6: 40 B.
    /// - foreach, NeMo AutoModel's MoE rows (BF16 weights and moments, no master, decay 0):
    ///   lerp 2·2 + g, mul 2·2, addcmul 2·2 + g, sqrt, div and add 2·2 each, addcdiv 2·2 + 2·2 =
    ///   32 + 2g: 36 B for the experts' BF16 gradients, 40 B for the FP32 rest; with an FP32
    ///   master, FP32 moments and gradients and weight decay: 14·4 + 2·4 + 2·4 + 2·4 + 6 = 86 B.
    /// - FP16 gradients (a loss scale): Megatron's unscale pass on the FP32 main gradients, 8 B;
    ///   PyTorch's `GradScaler.unscale_` on the FP16 gradients, 4 B; inside the fused kernel.
    @Test func bytesByHand() throws {
        #expect(OptimizerStates.deepSeekV3.updateBytes == 22)
        #expect(OptimizerUpdateKernels.megatron.bytesPerParameter(gradient: 4, moment: 2, master: true, decays: true) == 26)
        #expect(OptimizerUpdateKernels.megatron.bytesPerParameter(gradient: 2, moment: 4, master: true, decays: true) == 40)
        var autoModel = OptimizerStates(moments: .bf16, gradients: .fp32, masterWeights: false)
        autoModel.expertGradients = .bf16
        autoModel.updateKernels = .foreach
        autoModel.weightDecay = 0
        #expect(autoModel.updateBytes(expert: true) == 36)
        #expect(autoModel.updateBytes(expert: false) == 40)
        #expect(autoModel.updateTemporaryBytesPerParameter == 2)
        #expect(OptimizerUpdateKernels.foreach.bytesPerParameter(gradient: 4, moment: 4, master: true, decays: true) == 86)
        // Weight decay costs the foreach kernels a pass over the parameters, the fused ones nothing.
        #expect(OptimizerUpdateKernels.foreach.bytesPerParameter(gradient: 2, moment: 2, master: false, decays: true) == 36 + 4)
        #expect(OptimizerUpdateKernels.fused.bytesPerParameter(gradient: 4, moment: 2, master: true, decays: false) == 22)
        #expect(OptimizerStates.deepSeekV3.updateTemporaryBytesPerParameter == 0)
        // FP16 training undoes its loss scale first: Megatron on the FP32 main gradients (4 + 4:
        // the 1T file's FP16 gradients, 2 + 4 + 8 + 4 + 24 + 6 = 48 B), PyTorch's GradScaler on
        // the gradients as kept (2 + 2), the fused kernel inline.
        let megatron2021 = try shippedStep("megatron-1t-a100.yaml").optimizer
        #expect(megatron2021.gradients == .fp16 && megatron2021.updateBytes == 48)
        #expect(OptimizerUpdateKernels.foreach.bytesPerParameter(gradient: 2, moment: 2, master: false, decays: false, unscales: true) == 36 + 4)
        #expect(OptimizerUpdateKernels.fused.bytesPerParameter(gradient: 2, moment: 2, master: false, decays: false, unscales: true) == 14)
        // fused is the formula llmsim priced before the key existed, at every format.
        for g in [2, 4] {
            for s in [2, 4] {
                for master in [false, true] {
                    let state = (master ? 4 : 0) + 2 * s
                    #expect(OptimizerUpdateKernels.fused.bytesPerParameter(gradient: g, moment: s, master: master, decays: true) == g + 2 * state + (master ? 1 : 2) * 2)
                }
            }
        }
    }

    /// The step: NeMo AutoModel's Qwen3-30B (EP 8 on one node, BF16 expert gradients, FP32 for
    /// the rest) spends (36 e + 40 d) / (14 e + 16 d) as long on its update under `foreach` as
    /// under `fused`, between 40/16 = 2.5 and 36/14 = 2.571, whatever the shares e and d of its
    /// shard.
    @Test func autoModelUpdateGrowsByTheBytes() throws {
        let foreach = try shippedStep("automodel-qwen3-30b-a3b-h100.yaml")
        #expect(foreach.optimizer.updateKernels == .foreach && foreach.optimizer.weightDecay == 0)
        var fused = foreach
        fused.optimizer.updateKernels = .fused
        let calibration = try KernelCalibration.hopper()
        let update = { (c: StepConfiguration) in try StepSimulation(config: c, calibration: calibration).run().timeBreakdownPerRank[0].optimizerUpdateS }
        let ratio = try update(foreach) / update(fused)
        #expect(ratio >= 2.5 - 1e-9 && ratio <= 36.0 / 14 + 1e-9, "\(ratio)")
    }

    /// Memory: the foreach kernels' √v temporary (one moment's bytes per parameter of the
    /// shard) comes after the step's last backward has freed its activations, so it counts only
    /// above them. Megatron-Bridge's Llama 3 8B on 8 B200 (distributed optimizer over 8: a
    /// 1.0B-parameter shard, 12 B of FP32 master and moments each) with 512-token micro-batches
    /// and full recomputation frees little: the term is the shard's 4 B (a third of the
    /// optimizer term) less what was freed. V3's activations dwarf its shard: no term.
    @Test func temporaryAboveWhatTheStepFreed() throws {
        let name = "update's temporary (foreach kernels' √v), above what the step's end has freed"
        let c = try shippedStep("nemo-llama3-8b-b200.yaml", adding: "microbatch_tokens: 512\nrecompute: full\noptimizer: {update_kernels: foreach}")
        let plan = try StepSimulation(config: c, calibration: try KernelCalibration.hopper()).plan()
        let terms = try StageMemoryModel(config: c, deepSeekSavings: false, schedule: c.schedule).terms(rank: 0, stageLayers: plan.stageLayers)
        let bytes = { (prefix: String) in terms.filter { $0.kind.hasPrefix(prefix) }.reduce(0.0) { $0 + $1.bytes } }
        let freed = bytes("activations") + bytes("head") + bytes("embedding table's") + bytes("cached prefix")
        let term = bytes("update's temporary")
        #expect(terms.contains { $0.kind == name })
        #expect(term > 1e9, "\(term)")
        #expect(abs(term - (bytes("optimizer") / 3 - freed)) < 1, "\(term) against \(bytes("optimizer") / 3 - freed)")
        var v3 = try deepSeekStep()
        v3.optimizer.updateKernels = .foreach
        let v3Plan = try StepSimulation(config: v3, calibration: try KernelCalibration.hopper()).plan()
        let v3Terms = try StageMemoryModel(config: v3, deepSeekSavings: true, schedule: v3.schedule).terms(rank: 1, stageLayers: v3Plan.stageLayers)
        #expect(v3Terms.first { $0.kind == name }?.bytes == 0)
    }

    /// Bad input: Megatron's kernels need the FP32 master they update; a negative weight decay
    /// and an unknown kernel name are refused by name.
    @Test func refusals() throws {
        do { _ = try shippedStep("automodel-qwen3-30b-a3b-h100.yaml", adding: "optimizer: {update_kernels: megatron}"); Issue.record("accepted megatron without a master") }
        catch let e as ConfigError { #expect(e.description.contains("update_kernels") && e.description.contains("master"), "\(e)") }
        do { _ = try shippedStep("deepseek-v3.yaml", adding: "optimizer: {weight_decay: -0.1}"); Issue.record("accepted a negative weight decay") }
        catch let e as ConfigError { #expect(e.description.contains("weight_decay"), "\(e)") }
        do { _ = try shippedStep("deepseek-v3.yaml", adding: "optimizer: {update_kernels: apex}"); Issue.record("accepted an unknown kind") }
        catch let e as ConfigError { #expect(e.description.contains("fused") && e.description.contains("foreach"), "\(e)") }
        let megatron = try shippedStep("nemo-llama3-70b-h100.yaml")
        #expect(megatron.optimizer.updateKernels == .megatron)
        #expect(try shippedStep("deepseek-v3.yaml").optimizer.updateKernels == .fused)
    }
}
