import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Kernels
@testable import Training

/// Each micro-batch's weight gradients joined to the step's accumulated ones by kernels of
/// their own (`gradient_accumulation: unfused`: PyTorch autograd's `AccumulateGrad`, FSDP2's
/// deferred unsharded accumulation), as NeMo AutoModel's MoE rows run it.
@Suite struct GradientAccumulationTests {
    /// Bytes per parameter per micro-batch by hand: a BF16 gradient into an FP32 accumulator,
    /// the first micro-batch cast (2 + 4), each later one 2 + 4 + 4; into a BF16 one, the first
    /// kept as it is (0), each later one 2 + 2 + 2.
    @Test func bytesByHand() {
        let bytes = GradientAccumulation.unfusedBytesPerParameter
        let fp32: Double = (6 + 15 * 10) / 16, bf16: Double = 15 * 6 / 16
        #expect(bytes(2, 4, 16) == fp32)
        #expect(bytes(2, 2, 16) == bf16)
        #expect(bytes(2, 4, 1) == 6)
        #expect(bytes(2, 2, 1) == 0)
    }

    /// GPT-OSS 20B (16 micro-batches, its experts' gradients BF16, the rest FP32): a MoE layer's
    /// accumulation kernels follow its weight gradients, the experts' 4 local experts × 3 ×
    /// 2,880² parameters at 5.625 B; with the kernels the step is longer by their time on every
    /// micro-batch (one stage: the step is the micro-batches in a row), and without them the
    /// records have none. Under fsdp the key is refused.
    @Test func gptOSSStepGrowsByTheAccumulation() throws {
        let c = try shippedStep("automodel-gpt-oss-20b-h100.yaml")
        #expect(c.optimizer.gradientAccumulation == .unfused && c.microbatches == 16)
        var fused = c
        fused.optimizer.gradientAccumulation = .fused
        let calibration = try KernelCalibration.hopper()
        let sim = try StepSimulation(config: c, calibration: calibration), plain = try StepSimulation(config: fused, calibration: calibration)
        let records = try sim.layerRecords(0, traffic: try sim.allToAll().traffic).filter { $0.name.hasSuffix("grad_accumulate") }
        let experts = records.filter { $0.name.contains("expert") }
        let expertBytes = experts.reduce(0.0) { $0 + $1.bytesRead + $1.bytesWritten }
        let byHand: Double = 4 * 3 * 2880 * 2880 * 5.625
        #expect(abs(expertBytes - byHand) < 1, "\(expertBytes) against \(byHand)")
        #expect(records.count > experts.count && records.allSatisfy { $0.pass == .backwardWeight })
        #expect(try plain.layerRecords(0, traffic: try plain.allToAll().traffic).allSatisfy { !$0.name.hasSuffix("grad_accumulate") })
        let perLayer: Double = records.reduce(0.0) { $0 + sim.kernels.duration($1) }
        let perMicrobatch = perLayer * Double(c.layerModel.layers)
        // The head's accumulation: 2,880 × 201,088 FP32-accumulated parameters.
        let headBytes: Double = 2880 * 201_088 * (6 + 15 * 10) / 16
        let head = headBytes / (c.topology.node.device.hbmBandwidth * calibration.elementwiseEfficiency)
        // The embedding table's (2,880 × 201,088 parameters): PyTorch's accumulation instead
        // of Megatron-LM's add of every micro-batch's table into the FP32 gradient (10 B).
        let embeddingBytes: Double = 2880 * 201_088 * ((6 + 15 * 10) / 16 - 10)
        let embedding = embeddingBytes / (c.topology.node.device.hbmBandwidth * calibration.elementwiseEfficiency)
        let with = try sim.run().stepTimeS, without = try plain.run().stepTimeS
        let grown = with - without, expected = 16 * (perMicrobatch + head + embedding)
        // Every layer of GPT-OSS is a MoE layer of one shape; the host's launches of the extra
        // kernels may show a little.
        #expect(grown > expected * 0.999 && grown < expected * 1.05, "\(grown) against \(expected)")
        do { _ = try shippedStep("automodel-llama31-70b-h100.yaml", adding: "optimizer: {gradient_accumulation: unfused}"); Issue.record("accepted unfused under fsdp") }
        catch let e as ConfigError { #expect(e.description.contains("gradient_accumulation") && e.description.contains("shards"), "\(e)") }
    }
}
