/// A Transformer language model's architecture: the shapes that decide parameters, FLOPs and
/// memory. Read from a Hugging Face `config.json` (`HFConfig`); never holds derived figures.
public struct ModelArchitecture: Codable, Sendable, Equatable {
    /// Name used in reports (catalog name or file name).
    public var name: String
    /// Hugging Face `model_type`, e.g. `deepseek_v3`, `llama`.
    public var modelType: String
    public var hiddenSize: Int
    public var layers: Int
    public var vocabularySize: Int
    /// Input embedding and output head share one matrix.
    public var tiedEmbeddings: Bool
    public var attention: AttentionShape
    /// The FFN of dense layers (all layers of a dense model; the first few of an MoE model).
    public var denseIntermediateSize: Int
    /// Mixture-of-experts FFN, if any.
    public var moe: MoEShape?
    /// Multi-token-prediction modules (DeepSeek-V3: 1). Each is one extra Transformer block with
    /// its own norms and a d×2d projection, sharing embedding and head with the main model.
    public var mtpDepth: Int
    /// Longest context the model supports, tokens.
    public var maxPositionEmbeddings: Int
    /// Dropout probability on the attention probabilities in training (`attention_dropout`;
    /// Megatron-LM's GPT default is 0.1, Llama-family configs publish 0.0). Costs a kernel of
    /// its own only when the attention scores are materialized (`AttentionKernel.unfused`).
    public var attentionDropout: Double = 0
    /// Sliding-window attention (Mistral 7B v0.1, GPT-OSS's alternate layers): layers whose
    /// queries see only the last `tokens` keys; nil: every layer attends to its whole context.
    public var slidingWindow: SlidingWindow?

    /// Keys a query of layer `index` may see at most (nil: the whole context).
    public func attentionWindow(layer index: Int) -> Int? {
        guard let w = slidingWindow, w.layers.contains(index) else { return nil }
        return w.tokens
    }

    /// Number of layers whose FFN is the MoE (the rest are dense).
    public var moeLayerCount: Int {
        guard let moe else { return 0 }
        return (0..<layers).filter { moe.isMoE(layer: $0) }.count
    }
    public var denseLayerCount: Int { layers - moeLayerCount }

    /// The layer that stands for the model in per-layer reports (`llmsim step`'s MoE layer, the
    /// balanced layer of DeepSeek's trace): the first of the most common attention kind among
    /// the MoE layers (every layer of a dense model), a tie going to full attention, whose cost
    /// grows with the context. GPT-OSS alternates windowed and full layers: its layer 1.
    public var representativeLayer: Int {
        let candidates = moe.map { m in (0..<layers).filter { m.isMoE(layer: $0) } } ?? []
        let pool = candidates.isEmpty ? Array(0..<layers) : candidates
        let windowed = pool.filter { attentionWindow(layer: $0) != nil }
        let full = pool.filter { attentionWindow(layer: $0) == nil }
        return (windowed.count > full.count ? windowed.first : full.first) ?? 0
    }
}

/// Layers whose causal attention sees only the last `tokens` keys (the query's own included):
/// Hugging Face's `sliding_window` with `layer_types` "sliding_attention".
public struct SlidingWindow: Codable, Sendable, Equatable {
    /// The window, tokens.
    public var tokens: Int
    /// The layers that use it, ascending.
    public var layers: [Int]
    public init(tokens: Int, layers: [Int]) { self.tokens = tokens; self.layers = layers }
}

/// The attention block's shape.
public enum AttentionShape: Codable, Sendable, Equatable {
    /// Multi-head Latent Attention (DeepSeek-V2/V3): low-rank query and joint KV compression
    /// with a decoupled RoPE key shared by all heads.
    case mla(MLAShape)
    /// Grouped-query attention (multi-head when `kvHeads == heads`).
    case gqa(GQAShape)

    public var heads: Int {
        switch self {
        case .mla(let m): return m.heads
        case .gqa(let g): return g.heads
        }
    }
    /// Per-head query/key dimension used in the score product.
    public var qkHeadDim: Int {
        switch self {
        case .mla(let m): return m.qkNopeHeadDim + m.qkRopeHeadDim
        case .gqa(let g): return g.headDim
        }
    }
    /// Per-head value dimension.
    public var vHeadDim: Int {
        switch self {
        case .mla(let m): return m.vHeadDim
        case .gqa(let g): return g.headDim
        }
    }
    /// Heads of the keys and values the attention core reads: GQA's K/V heads; every head for
    /// MLA, whose up-projection expands the latent into per-head keys and values.
    public var keyValueHeads: Int {
        switch self {
        case .mla(let m): return m.heads
        case .gqa(let g): return g.kvHeads
        }
    }
}

public struct MLAShape: Codable, Sendable, Equatable {
    public var heads: Int
    /// Query compression dim d_c′ (`q_lora_rank`); nil means a full-rank query projection (V2-Lite).
    public var qLoraRank: Int?
    /// KV compression dim d_c (`kv_lora_rank`).
    public var kvLoraRank: Int
    public var qkNopeHeadDim: Int
    /// Decoupled RoPE dim d_h^R, shared by all heads for the key.
    public var qkRopeHeadDim: Int
    public var vHeadDim: Int
}

public struct GQAShape: Codable, Sendable, Equatable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Bias on the q, k and v projections (Qwen2).
    public var qkvBias: Bool
    /// RMSNorm over each head of the queries and keys before RoPE (Qwen3's q_norm, k_norm).
    public var qkNorm = false
}

/// How a token's router scores experts.
public enum RouterScoring: String, Codable, Sendable {
    case softmax, sigmoid
}

public struct MoEShape: Codable, Sendable, Equatable {
    public var routedExperts: Int
    public var sharedExperts: Int
    /// Intermediate size of one expert.
    public var expertIntermediateSize: Int
    /// Routed experts per token.
    public var topK: Int
    /// Expert groups for node-limited routing (1 = no grouping).
    public var groups: Int
    /// Groups a token may use.
    public var topKGroups: Int
    /// The first `firstDenseLayers` layers use a dense FFN.
    public var firstDenseLayers: Int
    /// Every `layerFrequency`-th layer after those is MoE.
    public var layerFrequency: Int
    public var scoring: RouterScoring
    /// Per-expert bias for aux-loss-free balancing (DeepSeek-V3 `noaux_tc`).
    public var hasRoutingBias: Bool
    /// Scale applied to the normalised gate weights (V3: 2.5).
    public var routedScalingFactor: Double
    /// GPUs each routed expert's FFN width is split over in the shard one GPU computes
    /// (Megatron-Core's expert tensor parallelism; `ModelArchitecture.expertTensorParallelShard`).
    /// 1 for a whole model; not part of its description (not encoded).
    public var expertTensorParallel = 1
    /// Each routed expert adds a bias after its up and its down projection (GPT-OSS; set from
    /// the config's model type, not encoded). Their parameters (experts × (2·I + d) per layer,
    /// 0.03% of GPT-OSS 20B) are not counted; the kernels that add them are
    /// (`ExpertBiasKernels`).
    public var expertBias = false

    /// The FFN width of the slice of one routed expert a GPU holds.
    public var routedSliceIntermediateSize: Int { expertIntermediateSize / max(expertTensorParallel, 1) }
    /// GPUs the shared experts' FFN width is split over in the shard one GPU computes: the
    /// attention's TP (Megatron-Core's SharedExpertMLP is a tensor-parallel MLP). 1 for a whole
    /// model; not part of its description (not encoded).
    public var sharedTensorParallel = 1
    /// The width of the shared experts' FFN, side by side, that one GPU holds.
    public var sharedSliceIntermediateSize: Int { sharedExperts * expertIntermediateSize / max(sharedTensorParallel, 1) }

    enum CodingKeys: String, CodingKey {
        case routedExperts, sharedExperts, expertIntermediateSize, topK, groups, topKGroups, firstDenseLayers, layerFrequency, scoring,
             hasRoutingBias, routedScalingFactor
    }

    public func isMoE(layer: Int) -> Bool {
        layer >= firstDenseLayers && (layer - firstDenseLayers) % layerFrequency == 0
    }
}
