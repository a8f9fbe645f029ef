import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Kernels
@testable import Training

/// The loss over the logits as frameworks compute it (`cross_entropy`): one fused kernel,
/// PyTorch's `F.cross_entropy` kernel by kernel (NeMo AutoModel's `MaskedCrossEntropy`), on the
/// BF16 logits or after casting them to FP32, or Megatron's vocabulary-parallel loss on an FP32
/// copy, unfused or compiled.
@Suite struct CrossEntropyTests {
    /// Bytes per logit by hand: fused 2 + 2 (read, gradient written); eager on BF16 forward
    /// `log_softmax` 2 + 2, backward the zero-filled gradient 2 and `log_softmax_backward`
    /// 4 + 2 (12 in all); after the FP32 upcast the cast 2 + 4, `log_softmax` 4 + 4, then 4, 8 +
    /// 4 and the cast back 4 + 2 (36). The eager backward kernels are the input backward's.
    @Test("bytes per logit: fused 4, eager 12, eager-fp32 36; eager backward kernels in the backward")
    func bytesByHand() throws {
        let logits = ShapeTensor(rows: 4096, cols: 1000)
        let none = OperationRecord.Traffic(scaleOutBytes: 0, scaleUpBytes: 0, logicalBytes: 0, groupSize: 1)
        let traffic = MoETraffic(localExpertRows: [], dispatch: none, combine: none, dispatchFormat: .bf16)
        func records(_ kind: CrossEntropyKernels) -> [OperationRecord] {
            var e = CostExecutor(traffic: traffic)
            e.crossEntropyKernels = kind
            _ = e.crossEntropy(logits)
            return e.records
        }
        func bytes(_ r: [OperationRecord]) -> Double { r.reduce(0) { $0 + $1.bytesRead + $1.bytesWritten } / 4_096_000 }
        #expect(bytes(records(.fused)) == 4 && bytes(records(.eager)) == 12 && bytes(records(.eagerFP32)) == 36)
        let eager = records(.eagerFP32)
        #expect(eager.map(\.name) == ["cross_entropy.upcast", "cross_entropy.log_softmax", "cross_entropy.nll.bwd",
                                      "cross_entropy.log_softmax.bwd", "cross_entropy.upcast.bwd"].map { "L0.attn." + $0 })
        #expect(bytes(eager.filter { $0.pass == .forward }) == 14 && bytes(eager.filter { $0.pass == .backwardInput }) == 22)
    }

    /// Megatron's loss by hand (`tensor_parallel/cross_entropy.py`): forward the cast 2 + 4, the
    /// row maximum 4, the in-place subtraction 4 + 4 and exponential 4 + 4, the row sum 4, the
    /// in-place division 4 + 4 (38 B per logit); backward the in-place scaling 4 + 4 and the cast
    /// back 4 + 2 (14). The compiled fusion reads the FP32 copy twice fewer: the cast with the
    /// maximum 2 + 4, the exponential of the difference 4 + 4 (26 forward, the same backward).
    @Test("bytes per logit: megatron 38 + 14, megatron-native 26 + 14")
    func megatronBytesByHand() {
        func split(_ kind: CrossEntropyKernels) -> (forward: Int, backward: Int) {
            let k = kind.kernels(format: 2)
            func sum(_ ks: [LossKernel]) -> Int { ks.reduce(0) { $0 + $1.read + $1.written } }
            return (sum(k.filter { !$0.backward }), sum(k.filter(\.backward)))
        }
        #expect(split(.megatron) == (38, 14) && split(.megatronNative) == (26, 14))
        #expect(split(.fused) == (4, 0) && split(.eager) == (4, 8) && split(.eagerFP32) == (14, 22))
        #expect(CrossEntropyKernels.megatron.kernels(format: 2).map(\.name) == [
            "cross_entropy.upcast", "cross_entropy.max", "cross_entropy.subtract_max", "cross_entropy.exp", "cross_entropy.sum",
            "cross_entropy.normalize", "cross_entropy.scale.bwd", "cross_entropy.upcast.bwd"])
    }

    /// On GPT-OSS 20B (one stage, 16 micro-batches of 8,192 tokens, a 201,088-token vocabulary)
    /// the step's head-and-loss part grows by the extra bytes at the element-wise HBM rate, 8 B
    /// per logit (eager), 32 B (eager-fp32), 48 B (megatron) and 36 B (megatron-native), per
    /// micro-batch; an unknown value lists the choices.
    @Test func stepGrowsByTheExtraBytes() throws {
        let shipped = try shippedStep("automodel-gpt-oss-20b-h100.yaml")
        #expect(shipped.crossEntropyKernels == .eager)
        let calibration = try KernelCalibration.hopper()
        func other(_ kind: CrossEntropyKernels) throws -> (Double, StepSimulation) {
            var c = shipped
            c.crossEntropyKernels = kind
            let sim = try StepSimulation(config: c, calibration: calibration)
            return (try #require(try sim.run().timeBreakdownPerRank.first).otherComputeS, sim)
        }
        let (fused, sim) = try other(.fused), eager = try other(.eager).0, upcast = try other(.eagerFP32).0
        let logits = Double(shipped.gpuTokens) * 201_088 * Double(shipped.microbatches)
        let rate = sim.kernels.device.hbmBandwidth * calibration.elementwiseEfficiency
        #expect(abs((eager - fused) - 8 * logits / rate) < 1e-6 * eager, "\(eager - fused) against \(8 * logits / rate)")
        #expect(abs((upcast - fused) - 32 * logits / rate) < 1e-6 * upcast)
        let megatron = try other(.megatron).0, native = try other(.megatronNative).0
        #expect(abs((megatron - fused) - 48 * logits / rate) < 1e-6 * megatron)
        #expect(abs((native - fused) - 36 * logits / rate) < 1e-6 * native)
        do { _ = try shippedStep("automodel-gpt-oss-20b-h100.yaml", adding: "cross_entropy: torch"); Issue.record("accepted torch") }
        catch let e as ConfigError {
            #expect(e.description.contains("cross_entropy") && e.description.contains("eager-fp32") && e.description.contains("megatron-native"), "\(e)")
        }
    }

    /// The 2021 Megatron plans run Megatron's unfused loss (`vocab_parallel_cross_entropy(
    /// output.float(), labels)`): the 1T file and the files that take it as their base.
    @Test func megatronFilesRunMegatronsLoss() throws {
        #expect(try shippedStep("megatron-1t-a100.yaml").crossEntropyKernels == .megatron)
        #expect(try shippedStep("nemo-llama3-70b-h100.yaml").crossEntropyKernels == .fused)
    }
}
