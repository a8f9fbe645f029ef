import ConfigIO
import CostModel
import Foundation
import Testing
@testable import Kernels
@testable import Model
@testable import Training

/// GPT-OSS's expert biases, added as NeMo AutoModel adds them (`expert_bias_kernels:
/// per-expert`, `GroupedExpertsDeepEP._apply_bias`) or in the grouped GEMM's epilogue (`fused`).
@Suite struct ExpertBiasTests {
    /// The catalog's GPT-OSS experts carry biases (transformers' GptOssExperts); Mixtral's and
    /// DeepSeek-V3's do not.
    @Test func gptOSSExpertsCarryBiases() throws {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        func bias(_ name: String) throws -> Bool? {
            try HFConfig.load(path: try models.resolve(name).1.configPath, name: name).moe?.expertBias
        }
        #expect(try bias("gpt-oss-20b") == true && bias("gpt-oss-120b") == true)
        #expect(try bias("mixtral-8x7b") == false && bias("deepseek-v3") == false)
    }

    /// The bytes of AutoModel's bias adds on one GPT-OSS 20B layer, by hand: each GPU receives
    /// its 8,192 tokens' worth of rows for its 4 experts under the round-robin gate, N = 32,768
    /// rows (the up projection's grouped GEMM: N × 2,880 × 5,760 × 2 FLOPs). Per element of the
    /// up projection's output (2I = 5,760 wide, BF16): 8 B forward, 6 B backward; of the down
    /// projection's (d = 2,880, weighted by FP32 probabilities): 28 B forward, 40 B backward
    /// (`CostExecutor.expertBias`). The per-layer MLP time grows by the kernels' seconds, and
    /// the step's MLP part by those times the 24 layers and 16 micro-batches; fused adds
    /// nothing.
    @Test func perExpertBytesByHand() throws {
        let c = try shippedStep("automodel-gpt-oss-20b-h100.yaml")
        #expect(c.expertBiasKernels == .perExpert)
        let sim = try StepSimulation(config: c, calibration: try KernelCalibration.hopper())
        let kernels = try sim.layerKernels(1).kernels
        let up = try #require(kernels.first { $0.record.name.hasSuffix("experts.up.fprop") })
        let rows = up.record.flops / (2 * 2880 * 5760)
        #expect(rows == 32_768)
        let bias = kernels.filter { $0.record.name.contains(".bias") }
        func bytes(_ pass: Pass) -> Double {
            bias.filter { ($0.record.pass == .forward) == (pass == .forward) }.reduce(0) { $0 + $1.record.bytesRead + $1.record.bytesWritten }
        }
        #expect(bytes(.forward) == rows * (5760 * 8 + 2880 * 28))
        #expect(bytes(.backwardInput) == rows * (5760 * 6 + 2880 * 40))

        var fused = c
        fused.expertBiasKernels = .fused
        let plain = try StepSimulation(config: fused, calibration: try KernelCalibration.hopper())
        #expect(try !plain.layerKernels(1).kernels.contains { $0.record.name.contains(".bias") })
        let perLayer = bias.reduce(0) { $0 + $1.seconds }
        let withBias = try #require(try sim.run().timeBreakdownPerRank.first), without = try #require(try plain.run().timeBreakdownPerRank.first)
        let expected = perLayer * Double(c.model.layers * c.microbatches)
        #expect(abs((withBias.mlpS - without.mlpS) - expected) < 1e-6 * expected, "\(withBias.mlpS - without.mlpS) against \(expected)")
    }

    /// An unknown value names the key and the choices.
    @Test func badValue() throws {
        do { _ = try shippedStep("automodel-gpt-oss-20b-h100.yaml", adding: "expert_bias_kernels: unfused"); Issue.record("accepted unfused") }
        catch let e as ConfigError { #expect(e.description.contains("expert_bias_kernels") && e.description.contains("per-expert"), "\(e)") }
    }
}
