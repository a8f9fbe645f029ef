import Foundation
import Testing
import ConfigIO
@testable import Kernels
@testable import Model

/// Sliding-window attention (Mistral 7B v0.1, GPT-OSS's alternate layers): each query sees at
/// most the last `window` keys, its own included.
@Suite struct SlidingWindowTests {
    /// Pairs counted in closed form against the mask drawn query by query.
    @Test func windowedPairsMatchTheMask() {
        func masked(_ q: Int, keys k: Int, window w: Int) -> Double {
            Double((0..<q).map { i in min(k - q + i + 1, w) }.reduce(0, +))
        }
        for (q, k, w) in [(8, 8, 3), (8, 8, 1), (8, 8, 8), (8, 8, 100), (4, 8, 3), (4, 8, 6), (5, 12, 9), (4096, 4096, 128)] {
            #expect(FLOPCount.causalPairs(q, keys: k, window: w) == masked(q, keys: k, window: w), "q \(q) k \(k) w \(w)")
        }
        #expect(FLOPCount.causalPairs(8, window: 3) == 21)
        #expect(FLOPCount.pairs(8, causal: false, window: 3) == 24)
    }

    static let tinyWindowed: ModelArchitecture = {
        var a = GQALayerTests.tinyLlama
        a.slidingWindow = SlidingWindow(tokens: 4, layers: [0])
        return a
    }()

    /// A window of 1 leaves each query its own key: the attention returns V itself (each query
    /// head its K/V head's values); a window as long as the sequence changes nothing.
    @Test func theNumericAttentionMasksOutsideTheWindow() throws {
        var e = try NumericExecutor(router: .deepSeekV3, seed: 1)
        var q = DenseTensor(zeros: 6, 8), k = DenseTensor(zeros: 6, 4), v = DenseTensor(zeros: 6, 4)
        for r in 0..<6 {
            for c in 0..<8 { q[r, c] = sin(Double(3 * r + c)) }
            for c in 0..<4 { k[r, c] = cos(Double(r + 2 * c)); v[r, c] = Double(r) + 0.1 * Double(c) }
        }
        let own = e.attention(q, k, v, heads: 2, kvHeads: 1, window: 1)
        for r in 0..<6 { for c in 0..<4 { #expect(abs(own[r, c] - v[r, c]) < 1e-12 && abs(own[r, 4 + c] - v[r, c]) < 1e-12) } }
        let whole = e.attention(q, k, v, heads: 2, kvHeads: 1, window: nil), long = e.attention(q, k, v, heads: 2, kvHeads: 1, window: 6)
        #expect(whole.values == long.values)
    }

    /// The numeric and cost executors agree on a model whose first layer is windowed, and the
    /// window makes that layer's attention cheaper.
    @Test func executorsAgreeOnAWindowedLayer() throws {
        let (numeric, cost) = try GQALayerTests.runBothExecutors(Self.tinyWindowed)
        #expect(GQALayerTests.costFLOPs(cost.records) == numeric.executedFLOPs)
        let attention = { (layer: Int) in cost.records.filter { $0.kind == .attention && $0.name.hasPrefix("L\(layer).") }.reduce(0) { $0 + $1.flops } }
        // 10 queries: 34 pairs in a window of 4, 55 causal.
        #expect(abs(attention(0) / attention(1) - 34.0 / 55.0) < 1e-12)
    }

    /// GPT-OSS as OpenAI's model card counts it (gpt-oss model card, Aug 2025, Table 1: 20.91B
    /// total, 3.61B active; 116.83B and 5.13B for 120b; active without the embedding): every
    /// other layer, from the first, attends through a 128-token window.
    @Test func gptOssShapes() throws {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        for (name, layers, total, active) in [("gpt-oss-20b", 24, 20.91e9, 3.61e9), ("gpt-oss-120b", 36, 116.83e9, 5.13e9)] {
            let m = try models.resolve(name).0
            let p = m.parameters
            #expect(m.layers == layers && m.moe?.routedExperts == (layers == 24 ? 32 : 128) && m.moe?.topK == 4)
            #expect(m.slidingWindow == SlidingWindow(tokens: 128, layers: Array(stride(from: 0, to: layers, by: 2))))
            #expect(abs(Double(p.total) / total - 1) < 0.001, "\(name) total \(p.total)")
            #expect(abs(Double(p.activated - p.embedding) / active - 1) < 0.003, "\(name) active \(p.activated - p.embedding)")
        }
    }

    /// Serving memory: a windowed layer caches only its window. GPT-OSS-120B at 131,072 tokens
    /// keeps 18 full layers × 2,048 B per token (8 K/V heads × 64 × 2 × 2 B) for the whole
    /// context and 18 for 128 tokens: 4.83 GB, not the 9.66 GB of the per-token figure.
    @Test func kvCacheKeepsOnlyTheWindow() throws {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        let oss = try models.resolve("gpt-oss-120b").0, v3 = try models.resolve("deepseek-v3").0
        #expect(oss.kvCacheBytesPerToken == 36 * 2048)
        #expect(oss.kvCacheBytes(context: 131_072) == Double(18 * 2048 * 131_072 + 18 * 2048 * 128))
        #expect(v3.kvCacheBytes(context: 32_768) == Double(v3.kvCacheBytesPerToken * 32_768))
        #expect(InferenceMemory.compute(oss, fp8: false, batch: 8, context: 131_072).kvCacheBytes == 8 * oss.kvCacheBytes(context: 131_072))
    }

    /// The layer per-layer reports stand on: the first of the commonest attention kind among
    /// MoE layers, ties to full attention. GPT-OSS alternates (sliding, full): layer 1; V3's
    /// first three layers are dense: layer 3; a dense model without windows: layer 0; every
    /// layer windowed (Mistral v0.1): layer 0.
    @Test func representativeLayer() throws {
        let models = try ModelCatalog.load(directory: repoRoot.appendingPathComponent("Experiments/models").path)
        #expect(try models.resolve("gpt-oss-120b").0.representativeLayer == 1)
        #expect(try models.resolve("deepseek-v3").0.representativeLayer == 3)
        #expect(GQALayerTests.tinyLlama.representativeLayer == 0)
        var mistral = GQALayerTests.tinyLlama
        mistral.layers = 3
        mistral.slidingWindow = SlidingWindow(tokens: 128, layers: [0, 1, 2])
        #expect(mistral.representativeLayer == 0)
        mistral.slidingWindow = SlidingWindow(tokens: 128, layers: [0, 1])
        #expect(mistral.representativeLayer == 0)
        mistral.slidingWindow = SlidingWindow(tokens: 128, layers: [0])
        #expect(mistral.representativeLayer == 1)
    }

    /// Training FLOPs: a windowed layer's attention counts the window's pairs (4,096 tokens, a
    /// window of 128: 128 − 128²/8,192 = 126 keys per token against 2,048).
    @Test func trainingFLOPsCountTheWindow() throws {
        var full = GQALayerTests.tinyLlama
        full.layers = 2
        var windowed = full
        windowed.slidingWindow = SlidingWindow(tokens: 128, layers: [0])
        let a = full.trainingFLOPs(sequenceLength: 4096), b = windowed.trainingFLOPs(sequenceLength: 4096)
        #expect(a.linear == b.linear)
        #expect(abs(b.attentionCausal / a.attentionCausal - (2048 + 126) / 4096) < 1e-12)
    }

    /// Transformers' rules: Mistral v0.1's window on every layer; Qwen's only with
    /// use_sliding_window, from max_window_layers on; an unknown layer type is an error.
    @Test func configsDeclareTheirWindows() throws {
        let base = #"{"model_type": "MT", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 4096, EXTRA}"#
        func parse(_ type: String, _ extra: String) throws -> ModelArchitecture {
            try HFConfig.parse(try ConfigValue.parse(base.replacingOccurrences(of: "MT", with: type).replacingOccurrences(of: "EXTRA", with: extra), file: "c.json"), name: "t")
        }
        #expect(try parse("mistral", #""sliding_window": 32"#).slidingWindow == SlidingWindow(tokens: 32, layers: [0, 1, 2, 3]))
        #expect(try parse("mistral", #""sliding_window": null"#).slidingWindow == nil)
        #expect(try parse("qwen2", #""sliding_window": 32, "use_sliding_window": false, "max_window_layers": 2"#).slidingWindow == nil)
        #expect(try parse("qwen2", #""sliding_window": 32, "use_sliding_window": true, "max_window_layers": 2"#).slidingWindow == SlidingWindow(tokens: 32, layers: [2, 3]))
        #expect(try parse("llama", #""sliding_window": 32"#).slidingWindow == nil)
        #expect(throws: ConfigError.self) { try parse("qwen3", #""sliding_window": 32, "layer_types": ["full_attention", "linear_attention", "full_attention", "full_attention"]"#) }
        #expect(throws: ConfigError.self) { try parse("qwen3", #""layer_types": ["sliding_attention", "full_attention", "full_attention", "full_attention"]"#) }
    }
}
