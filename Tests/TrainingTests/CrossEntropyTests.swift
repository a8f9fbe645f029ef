import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Kernels
@testable import Training

/// The loss over the logits as frameworks compute it (`cross_entropy`): one fused kernel, or
/// PyTorch's `F.cross_entropy` kernel by kernel (NeMo AutoModel's `MaskedCrossEntropy`), on the
/// BF16 logits or after casting them to FP32.
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

    /// On GPT-OSS 20B (one stage, 16 micro-batches of 8,192 tokens, a 201,088-token vocabulary)
    /// the step's head-and-loss part grows by the extra bytes at the element-wise HBM rate, 8 B
    /// per logit (eager) and 32 B (eager-fp32), per micro-batch; an unknown value lists the
    /// choices.
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
        do { _ = try shippedStep("automodel-gpt-oss-20b-h100.yaml", adding: "cross_entropy: torch"); Issue.record("accepted torch") }
        catch let e as ConfigError { #expect(e.description.contains("cross_entropy") && e.description.contains("eager-fp32"), "\(e)") }
    }
}
