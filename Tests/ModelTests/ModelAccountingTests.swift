import Foundation
import Testing
@testable import Model

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let modelCatalog = try! ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
func model(_ name: String) throws -> ModelArchitecture { try modelCatalog.resolve(name).0 }

@Suite struct DeepSeekV3AccountingTests {
    /// deepseek-v3.md §1.1: 671B total, 37B activated; a count from the config gives 671.03B and
    /// 37.55B. Issue tolerance 0.2%.
    @Test("DeepSeek-V3 report §1/§4.2: 671B total, 37B activated (config count 671.03B / 37.55B)")
    func parameterCounts() throws {
        let p = try model("deepseek-v3").parameters
        #expect(abs(Double(p.total) / 671.03e9 - 1) < 0.002)
        #expect(abs(Double(p.activated) / 37.55e9 - 1) < 0.002)
        // README_WEIGHTS: MTP 11.5B unique; the config count is 11.61B.
        #expect(abs(Double(p.mtp) / 11.61e9 - 1) < 0.002)
        // Exact hand count (deepseek-v3.md §1.1 arithmetic): embedding 129,280 × 7,168.
        #expect(p.embedding == 926_679_040 && p.head == 926_679_040)
        #expect(p.total == 671_026_419_200)
    }

    /// ISCA 2025 Table 2: 250 GFLOP per training token at 4K (issue tolerance 3%).
    @Test("ISCA 2025 Table 2: DeepSeek-V3 250 GFLOP/token")
    func trainingFLOPs() throws {
        let f = try model("deepseek-v3").trainingFLOPs(sequenceLength: 4096)
        #expect(abs(f.causal / 250e9 - 1) < 0.03)
        // Causal / non-causal = 385 / 432 TFLOPS in ISCA Table 4 (same step, two conventions).
        #expect(abs(f.causal / f.noncausal - 385.0 / 432.0) < 0.005)
        // deepseek-v3.md §2.2: causal attention at 4K ≈ 30.7 GF.
        #expect(abs(f.attentionCausal / 30.7e9 - 1) < 0.01)
    }

    @Test("ISCA 2025 Table 1: KV cache 70,272 B/token (MLA)")
    func kvCache() throws {
        #expect(try model("deepseek-v3").kvCacheBytesPerToken == 70_272)
    }

    @Test func layerStructure() throws {
        let m = try model("deepseek-v3")
        #expect(m.denseLayerCount == 3 && m.moeLayerCount == 58 && m.mtpDepth == 1)
        #expect(m.moe?.topK == 8 && m.moe?.groups == 8 && m.moe?.topKGroups == 4)
        #expect(m.attention.qkHeadDim == 192 && m.attention.vHeadDim == 128)
    }
}

@Suite struct OtherModelsTests {
    @Test("ISCA 2025 Table 1: KV cache of Qwen2.5-72B and Llama-3.1-405B", arguments: [
        ("qwen2.5-72b", 327_680), ("llama-3.1-405b", 516_096),
    ])
    func kvCache(name: String, bytes: Int) throws {
        #expect(try model(name).kvCacheBytesPerToken == bytes)
    }

    /// Published totals (model cards / papers), within 0.5% (they are rounded).
    @Test("published parameter totals", arguments: [
        ("llama-3.1-8b", 8.03e9),      // HF model card
        ("llama-3.1-70b", 70.6e9),     // HF model card
        ("llama-3.1-405b", 405.9e9),   // Llama 3 paper: 405B; HF count 405.85B
        ("qwen2.5-72b", 72.7e9),       // Qwen2.5 model card
        ("mixtral-8x7b", 46.7e9),      // Mistral AI, "Mixtral of experts" blog/paper
        ("deepseek-v2", 236e9),        // DeepSeek-V2 paper abstract
        ("qwen3-30b-a3b", 30.5e9),     // Qwen3-30B-A3B model card: 30.5B in total
        ("qwen3-235b-a22b", 235e9),    // Qwen3-235B-A22B model card: 235B in total
    ])
    func totals(name: String, published: Double) throws {
        #expect(abs(Double(try model(name).parameters.total) / published - 1) < 0.005)
    }

    /// Kimi K2 technical report (arXiv 2507.20534), abstract: "32 billion activated parameters
    /// and 1 trillion total parameters" (rounded figures: within 3%). The catalog's config gives
    /// 1,026.4B and 32.86B.
    @Test func kimiK2Totals() throws {
        let p = try model("kimi-k2").parameters
        #expect(abs(Double(p.total) / 1e12 - 1) < 0.03)
        #expect(abs(Double(p.activated) / 32e9 - 1) < 0.03)
    }

    @Test("published activated parameters of MoE models", arguments: [
        ("mixtral-8x7b", 12.9e9),      // Mixtral paper: 13B active (12.9B)
        ("deepseek-v2", 21e9),         // DeepSeek-V2 paper: 21B activated
        ("qwen3-30b-a3b", 3.3e9),      // Qwen3-30B-A3B model card: 3.3B activated (config count 3.35B)
        ("qwen3-235b-a22b", 22e9),     // Qwen3-235B-A22B model card: 22B activated (config count 22.19B)
    ])
    func activated(name: String, published: Double) throws {
        #expect(abs(Double(try model(name).parameters.activated) / published - 1) < 0.02)
    }

    @Test func denseModelsTrainAtSixNPlusAttention() throws {
        let m = try model("llama-3.1-8b")
        let f = m.trainingFLOPs(sequenceLength: 8192)
        let n = Double(m.parameters.total - m.parameters.embedding - m.hiddenSize * (2 * m.layers + 1))
        #expect(abs(f.linear - 6 * n) < 1)
        #expect(f.mtpCausal == 0)
    }
}
