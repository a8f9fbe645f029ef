import ConfigIO

/// Reads a Hugging Face `config.json` into a `ModelArchitecture`, strictly: every key must be
/// one llmsim uses or one it knows to be irrelevant to cost (tokenizer ids, dtype, RoPE scaling…);
/// anything else is an error, so a typo never becomes a silent default.
public enum HFConfig {
    /// Model types llmsim reads, and the family each belongs to.
    /// (`kimi_k2`: Moonshot's Kimi K2, whose config declares the DeepseekV3ForCausalLM architecture.)
    public static let supportedModelTypes = ["deepseek_v3": "deepseek", "kimi_k2": "deepseek", "deepseek_v2": "deepseek",
                                             "llama": "gqa", "qwen2": "gqa", "qwen3": "gqa", "mistral": "gqa", "mixtral": "mixtral",
                                             "qwen2_moe": "qwen-moe", "qwen3_moe": "qwen-moe", "gpt_oss": "gpt-oss"]

    /// Keys that do not change parameters, FLOPs or memory; accepted and ignored.
    static let ignoredKeys: Set<String> = [
        "architectures", "auto_map", "bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype",
        "transformers_version", "use_cache", "initializer_range", "rms_norm_eps", "hidden_act",
        "attention_dropout", "rope_theta", "rope_scaling", "quantization_config", "pretraining_tp",
        "ep_size", "aux_loss_alpha", "seq_aux",
        "attention_bias", "mlp_bias", "output_router_logits", "router_aux_loss_coef", "router_jitter_noise",
        "norm_topk_prob", "topk_method", "use_mla", "_name_or_path", "dtype",
        // GPT-OSS: the clamp of its SwiGLU, its pre-training context (max_position_embeddings
        // is the extended one) and a duplicate of num_experts_per_tok.
        "swiglu_limit", "initial_context_length", "experts_per_token",
    ]
    static let usedKeys: Set<String> = [
        "model_type", "hidden_size", "num_hidden_layers", "vocab_size", "tie_word_embeddings", "intermediate_size",
        "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings",
        "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
        "n_routed_experts", "n_shared_experts", "moe_intermediate_size", "num_experts_per_tok", "n_group", "topk_group",
        "first_k_dense_replace", "moe_layer_freq", "scoring_func", "routed_scaling_factor", "num_nextn_predict_layers",
        "num_local_experts", "num_experts", "decoder_sparse_step", "mlp_only_layers", "shared_expert_intermediate_size",
        "sliding_window", "layer_types", "use_sliding_window", "max_window_layers",
    ]

    public static func load(path: String, name: String? = nil) throws -> ModelArchitecture {
        try parse(try ConfigValue.load(path: path), name: name ?? defaultName(path))
    }

    public static func parse(_ v: ConfigValue, name: String) throws -> ModelArchitecture {
        try v.requireKnownKeys(usedKeys.union(ignoredKeys))
        let modelType = try v.choice("model_type", supportedModelTypes.keys.sorted())
        let d = try v.positiveInt("hidden_size")
        let layers = try v.positiveInt("num_hidden_layers")
        let heads = try v.positiveInt("num_attention_heads")
        let family = supportedModelTypes[modelType]!

        let attention: AttentionShape
        var moe: MoEShape?
        var mtpDepth = 0
        switch family {
        case "deepseek":
            attention = .mla(MLAShape(
                heads: heads, qLoraRank: try v.positiveIntIfPresent("q_lora_rank"),
                kvLoraRank: try v.positiveInt("kv_lora_rank"), qkNopeHeadDim: try v.positiveInt("qk_nope_head_dim"),
                qkRopeHeadDim: try v.positiveInt("qk_rope_head_dim"), vHeadDim: try v.positiveInt("v_head_dim")))
            let scoring = try v.choiceIfPresent("scoring_func", ["softmax", "sigmoid"]) ?? "softmax"
            moe = MoEShape(
                routedExperts: try v.positiveInt("n_routed_experts"), sharedExperts: try v.positiveInt("n_shared_experts", default: 0, allowZero: true),
                expertIntermediateSize: try v.positiveInt("moe_intermediate_size"), topK: try v.positiveInt("num_experts_per_tok"),
                groups: try v.positiveInt("n_group", default: 1), topKGroups: try v.positiveInt("topk_group", default: 1),
                firstDenseLayers: try v.positiveInt("first_k_dense_replace", default: 0, allowZero: true),
                layerFrequency: try v.positiveInt("moe_layer_freq", default: 1),
                scoring: RouterScoring(rawValue: scoring)!, hasRoutingBias: modelType != "deepseek_v2",
                routedScalingFactor: try v.positiveDouble("routed_scaling_factor", default: 1))
            mtpDepth = try v.positiveInt("num_nextn_predict_layers", default: 0, allowZero: true)
        default:
            let kvHeads = try v.positiveInt("num_key_value_heads", default: heads)
            if heads % kvHeads != 0 {
                throw try v.required("num_key_value_heads").error("\(heads) attention heads are not a multiple of \(kvHeads) KV heads",
                                                                  fix: "use a divisor of num_attention_heads")
            }
            let headDim = try v.positiveInt("head_dim", default: d / heads)
            // Qwen2, Qwen2-MoE and GPT-OSS bias q, k and v (GPT-OSS also o, and a per-head sink
            // logit: not counted); Qwen3 and Qwen3-MoE drop the biases and norm each query and
            // key head instead (transformers' Qwen3Attention q_norm, k_norm).
            attention = .gqa(GQAShape(heads: heads, kvHeads: kvHeads, headDim: headDim, qkvBias: modelType == "qwen2" || modelType == "qwen2_moe" || modelType == "gpt_oss",
                                      qkNorm: modelType.hasPrefix("qwen3")))
            if family == "qwen-moe" { moe = try qwenMoE(v) }
            if family == "mixtral" || family == "gpt-oss" {
                let experts = try v.positiveInt("num_local_experts")
                moe = MoEShape(routedExperts: experts, sharedExperts: 0, expertIntermediateSize: try v.positiveInt("intermediate_size"),
                               topK: try v.positiveInt("num_experts_per_tok"), groups: 1, topKGroups: 1, firstDenseLayers: 0,
                               layerFrequency: 1, scoring: .softmax, hasRoutingBias: false, routedScalingFactor: 1)
                // GPT-OSS's experts carry an output bias on each projection (transformers'
                // GptOssExperts: gate_up_proj_bias, down_proj_bias); Mixtral's have none.
                moe?.expertBias = family == "gpt-oss"
            }
        }
        if let moe {
            let experts = try v.optional("n_routed_experts") ?? v.optional("num_experts") ?? v.required("num_local_experts")
            if moe.topK > moe.routedExperts {
                throw try v.required("num_experts_per_tok").error("\(moe.topK) experts per token but only \(moe.routedExperts) experts",
                                                                  fix: "num_experts_per_tok must be at most \(moe.routedExperts)")
            }
            if moe.routedExperts % moe.groups != 0 {
                throw experts.error("\(moe.routedExperts) experts cannot be split into \(moe.groups) groups", fix: "n_group must divide the expert count")
            }
            if moe.topKGroups > moe.groups {
                throw try v.required("topk_group").error("topk_group \(moe.topKGroups) exceeds n_group \(moe.groups)")
            }
            if moe.firstDenseLayers > layers {
                throw try v.required("first_k_dense_replace").error("more dense layers (\(moe.firstDenseLayers)) than layers (\(layers))")
            }
        }
        var arch = ModelArchitecture(
            name: name, modelType: modelType, hiddenSize: d, layers: layers,
            vocabularySize: try v.positiveInt("vocab_size"),
            tiedEmbeddings: try v.optional("tie_word_embeddings")?.bool() ?? false,
            attention: attention,
            denseIntermediateSize: try v.positiveInt("intermediate_size"),
            moe: moe, mtpDepth: mtpDepth,
            maxPositionEmbeddings: try v.positiveInt("max_position_embeddings"),
            attentionDropout: try attentionDropout(v))
        arch.slidingWindow = try slidingWindow(v, family: family, modelType: modelType, layers: layers)
        return arch
    }

    /// Which layers attend through a sliding window, as transformers decides it:
    /// - `layer_types` ("full_attention" or "sliding_attention" per layer) when the config has it
    ///   (GPT-OSS: alternate layers, the first sliding), with `sliding_window` tokens;
    /// - else Mistral and Mixtral: every layer when `sliding_window` is set (Mistral 7B v0.1:
    ///   4,096), none when it is null;
    /// - else Qwen2/Qwen3 and their MoE: layers from `max_window_layers` on, only when
    ///   `use_sliding_window` is true (their released configs set it false);
    /// - Llama and DeepSeek configs have no sliding window (a `sliding_window` there is ignored,
    ///   as transformers ignores it).
    static func slidingWindow(_ v: ConfigValue, family: String, modelType: String, layers: Int) throws -> SlidingWindow? {
        func window() throws -> Int? { try v.optional("sliding_window").map { _ in try v.positiveInt("sliding_window") } }
        if let types = try v.optional("layer_types") {
            let kinds = try types.elements().map { try $0.string() }
            guard kinds.count == layers else {
                throw types.error("\(kinds.count) layer types for \(layers) layers", fix: "give one of full_attention or sliding_attention per layer")
            }
            if let other = kinds.first(where: { $0 != "full_attention" && $0 != "sliding_attention" }) {
                throw types.error("layer type '\(other)' is not modelled (llmsim models full and sliding-window attention)",
                                  fix: "use full_attention or sliding_attention")
            }
            let sliding = kinds.indices.filter { kinds[$0] == "sliding_attention" }
            guard !sliding.isEmpty else { return nil }
            guard let w = try window() else {
                throw types.error("sliding_attention layers but no sliding_window", fix: "give sliding_window, the tokens a query sees")
            }
            return SlidingWindow(tokens: w, layers: sliding)
        }
        let everyLayer = family == "mixtral" || family == "gpt-oss" || modelType == "mistral"
        if everyLayer {
            return try window().map { SlidingWindow(tokens: $0, layers: Array(0..<layers)) }
        }
        guard family == "qwen-moe" || (family == "gqa" && modelType.hasPrefix("qwen")) else { return nil }
        guard try v.optional("use_sliding_window")?.bool() ?? false, let w = try window() else { return nil }
        let first = try v.positiveInt("max_window_layers", default: 0, allowZero: true)
        return first < layers ? SlidingWindow(tokens: w, layers: Array(first..<layers)) : nil
    }

    /// Qwen2-MoE and Qwen3-MoE (transformers' Qwen2MoeSparseMoeBlock, Qwen3MoeSparseMoeBlock):
    /// `num_experts` routed experts of `moe_intermediate_size`, softmax top-`num_experts_per_tok`,
    /// and for Qwen2-MoE one gated shared expert of `shared_expert_intermediate_size`, counted as
    /// that many expert-sized shared experts (a SwiGLU of width k·m is k of width m side by side;
    /// its one-output gate, `hidden_size` weights, is left out). Every layer MoE: the released
    /// configs have `decoder_sparse_step` 1 and no `mlp_only_layers`; others are refused.
    static func qwenMoE(_ v: ConfigValue) throws -> MoEShape {
        let expertSize = try v.positiveInt("moe_intermediate_size")
        if let step = try v.optional("decoder_sparse_step"), case let every = try step.int(), every != 1 {
            throw step.error("MoE on every \(every)-th layer is not modelled (llmsim reads Qwen MoE configs with an MoE block on every layer)",
                             fix: "use decoder_sparse_step: 1")
        }
        if let dense = try v.optional("mlp_only_layers"), !(try dense.elements()).isEmpty {
            throw dense.error("dense layers among MoE layers (mlp_only_layers) are not modelled", fix: "use mlp_only_layers: []")
        }
        var shared = 0
        if let s = try v.positiveIntIfPresent("shared_expert_intermediate_size") {
            guard s % expertSize == 0 else {
                throw try v.required("shared_expert_intermediate_size").error("a shared expert of \(s) is not a whole number of \(expertSize)-wide experts",
                                                                            fix: "llmsim counts the shared expert as moe_intermediate_size-wide experts; use a multiple of \(expertSize)")
            }
            shared = s / expertSize
        }
        return MoEShape(routedExperts: try v.positiveInt("num_experts"), sharedExperts: shared, expertIntermediateSize: expertSize,
                        topK: try v.positiveInt("num_experts_per_tok"), groups: 1, topKGroups: 1, firstDenseLayers: 0,
                        layerFrequency: 1, scoring: .softmax, hasRoutingBias: false, routedScalingFactor: 1)
    }

    /// `attention_dropout`, a probability in [0, 1).
    static func attentionDropout(_ v: ConfigValue) throws -> Double {
        guard let value = try v.optional("attention_dropout") else { return 0 }
        let p = try value.double()
        guard p >= 0, p < 1 else { throw value.error("attention_dropout \(p) is not a probability below 1", fix: "use a value in [0, 1), e.g. 0.1 (Megatron-LM's GPT default) or 0.0") }
        return p
    }

    static func defaultName(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return file.hasSuffix(".json") ? String(file.dropLast(5)) : file
    }
}
