import Kernels
/// What one layer keeps between its forward and its backward for one micro-batch, bytes, item by
/// item. DeepSeek-V3's savings (report §3.2.3, §3.3.3): RMSNorm outputs and MLA up-projections
/// are recomputed, Wgrad inputs are cached in FP8 (1 B + a 4-B scale per 128 values), the
/// attention-output Linear input is kept in E5M6 (12 bits = 1.5 B), SwiGLU inputs are cached
/// in FP8 and their outputs recomputed. The two halves are separate switches: `recompute` (the
/// recomputed norms, up-projections and SwiGLU outputs) and `caching` (`ActivationCaching`:
/// DeepSeek's FP8 and E5M6 caches, Transformer Engine's FP8 Linear inputs, or BF16). With
/// recomputation off and BF16 caching, every tensor is kept in BF16 (the plain rule).
public struct ActivationInventory: Sendable {
    public struct Item: Sendable, Codable, Equatable {
        public var name: String
        public var bytes: Double
        public init(name: String, bytes: Double) { self.name = name; self.bytes = bytes }
    }

    /// Both of DeepSeek's savings on (`true`) or off.
    public static func layer(_ arch: ModelArchitecture, index: Int, tokens t: Int, routedRowsOnGPU rows: Int,
                             deepSeekSavings savings: Bool) -> [Item] {
        layer(arch, index: index, tokens: t, routedRowsOnGPU: rows, recompute: savings, caching: savings ? .deepSeekFP8 : .bf16)
    }

    /// `sequenceSplit`: with tensor and sequence parallelism, the activations of full hidden
    /// width (layer input, norm outputs, residual) are split along the sequence over the TP
    /// group (Korthikanti et al. 2022); `arch` is then the TP shard.
    ///
    /// `materializedScores`: the attention core ran with its scores in HBM (no FlashAttention)
    /// over `keys` keys per query and is not recomputed; its backward then needs the softmax
    /// output (BF16) and, with attention dropout, the dropout mask (1 B) and the dropped
    /// probabilities (BF16): Korthikanti et al. 2022's 5·a·s²·b bytes per layer.
    ///
    /// `modules`: Megatron-LM's recomputed modules drop what they rerun — `layernorm` the input
    /// and pre-MLP norm outputs, `mla_up_proj` MLA's normalised latents and Q, K, V, `moe_act`
    /// the routed experts' SwiGLU outputs, `moe` and `mlp` everything inside the FFN (its input,
    /// the pre-MLP norm's output, stays unless `layernorm`), `shared_experts` the shared
    /// experts' SwiGLU input and output; `core_attn` keeps Q, K, V and the
    /// attention output, which the output projection needs (it only spares materialized
    /// scores, see the caller).
    public static func layer(_ arch: ModelArchitecture, index: Int, tokens t: Int, routedRowsOnGPU rows: Int,
                             recompute savings: Bool, caching: ActivationCaching, sequenceSplit: Int = 1,
                             materializedScores: (keys: Int, dropout: Bool)? = nil, modules: Set<RecomputeModule> = []) -> [Item] {
        let T = Double(t), R = Double(rows)
        let d = Double(arch.hiddenSize), dSeq = d / Double(sequenceSplit)
        let bf16 = { (n: Double) in n * 2 }
        let low = caching == .deepSeekFP8
        // Transformer Engine's quantized copies: FP8 codes with their recipe's scales (none per
        // tensor, an E8M0 byte per 32 values under MXFP8), or NVFP4's half-byte codes with an
        // E4M3 byte per 16 values.
        var te = false, teBytes = 1.0, teLabel = "FP8"
        if case .transformerEngine(let recipe) = caching { (te, teBytes, teLabel) = (true, recipe.bytesPerValue, recipe.label) }
        // DeepSeek's caches: FP8 values + per-128 scales, or BF16 without them.
        let fp8 = { (n: Double) in low ? n * (1 + QuantizationRecipe.deepSeek.scaleBytesPerValue) : bf16(n) }
        let cached = low ? "FP8" : "BF16"
        // A Linear's own input kept for its weight gradient: Transformer Engine's quantized copy
        // (1 B per FP8 value, half a byte per FP4 one, with the recipe's scales), DeepSeek's
        // cache (with its scales), else BF16.
        let linearInput = { (n: Double) in te ? n * teBytes : fp8(n) }
        let inputFormat = te ? teLabel : low ? "FP8" : "BF16"
        var items: [Item] = [Item(name: "layer input (BF16)", bytes: bf16(T * dSeq))]
        let heads = Double(arch.attention.heads)
        switch arch.attention {
        case .mla(let m):
            let qLora = Double(m.qLoraRank ?? arch.hiddenSize), kv = Double(m.kvLoraRank + m.qkRopeHeadDim)
            let qk = Double(m.qkNopeHeadDim + m.qkRopeHeadDim), v = Double(m.vHeadDim)
            items.append(Item(name: "MLA down-projections c_Q, c_KV (BF16)", bytes: bf16(T * (qLora + kv))))
            if savings {
                items.append(Item(name: low ? "attention output, W_O input (E5M6)" : "attention output, W_O input (BF16)", bytes: T * heads * v * (low ? 1.5 : 2)))
            } else {
                let norm = modules.contains(.layernorm) ? 0 : dSeq, latents = modules.contains(.mlaUpProj) ? 0 : qLora + Double(m.kvLoraRank)
                items.append(Item(name: "norm outputs x̂, ĉ_Q, ĉ_KV (\(inputFormat))", bytes: linearInput(T * (norm + latents))))
                items.append(Item(name: "Q, K, V (BF16)", bytes: modules.contains(.mlaUpProj) ? 0 : bf16(T * heads * (2 * qk + v))))
                items.append(Item(name: "attention output (BF16)", bytes: bf16(T * heads * v)))
                if te { items.append(Item(name: "W_O input (\(teLabel) copy of the attention output)", bytes: linearInput(T * heads * v))) }
            }
        case .gqa(let g):
            let h = Double(g.headDim), kvh = Double(g.kvHeads)
            items.append(Item(name: "norm output x̂ (\(inputFormat))", bytes: savings || modules.contains(.layernorm) ? 0 : linearInput(T * dSeq)))
            items.append(Item(name: "Q, K, V (BF16)", bytes: bf16(T * (heads + 2 * kvh) * h)))
            if g.qkNorm { items.append(Item(name: "Q, K before their per-head norms (BF16)", bytes: bf16(T * (heads + kvh) * h))) }
            items.append(Item(name: "attention output (BF16)", bytes: bf16(T * heads * h)))
            if te { items.append(Item(name: "W_O input (\(teLabel) copy of the attention output)", bytes: linearInput(T * heads * h))) }
        }
        if let m = materializedScores {
            let scores = T * Double(m.keys) * heads
            items.append(Item(name: "attention probabilities (BF16)", bytes: bf16(scores)))
            if m.dropout { items.append(Item(name: "attention dropout mask and output (1 B + BF16)", bytes: scores * 3)) }
        } else {
            items.append(Item(name: "softmax statistics (FP32)", bytes: T * heads * 4))
        }
        items.append(Item(name: "post-attention residual h (BF16)", bytes: bf16(T * dSeq)))
        if !savings, !modules.contains(.layernorm) { items.append(Item(name: "FFN norm output (\(inputFormat))", bytes: linearInput(T * dSeq))) }
        if let moe = arch.moe, moe.isMoE(layer: index) {
            // Megatron's `moe` module reruns the whole block from its input: nothing inside kept.
            guard !modules.contains(.moe) else { return items.filter { $0.bytes > 0 } }
            // Each GPU of a sequence-parallel TP group routes its own share of the tokens.
            let T = T / Double(sequenceSplit)
            // Under expert-TP a GPU's routed rows are its expert-TP group's, each on a slice
            // of the expert's width.
            let i = Double(moe.expertIntermediateSize), slice = Double(moe.routedSliceIntermediateSize), k = Double(moe.topK)
            items.append(Item(name: "routing indices and weights", bytes: T * k * 8))
            items.append(Item(name: "dispatched expert inputs (\(inputFormat))", bytes: linearInput(R * d)))
            items.append(Item(name: "SwiGLU inputs (\(cached))", bytes: fp8(R * 2 * slice)))
            if !savings, !modules.contains(.moeAct) { items.append(Item(name: "SwiGLU outputs (\(inputFormat))", bytes: linearInput(R * slice))) }
            if moe.sharedExperts > 0, !modules.contains(.sharedExperts) {
                let s = Double(moe.sharedExperts) * i
                items.append(Item(name: "shared SwiGLU input (\(cached))", bytes: fp8(T * 2 * s)))
                if !savings { items.append(Item(name: "shared SwiGLU output (\(inputFormat))", bytes: linearInput(T * s))) }
            }
        } else if !modules.contains(.mlp) {
            let i = Double(arch.denseIntermediateSize)
            items.append(Item(name: "SwiGLU input (\(cached))", bytes: fp8(T * 2 * i)))
            if !savings { items.append(Item(name: "SwiGLU output (\(inputFormat))", bytes: linearInput(T * i))) }
        }
        return items.filter { $0.bytes > 0 }
    }
}

/// In which precision a layer keeps the tensors its backward needs.
public enum ActivationCaching: Sendable, Equatable {
    /// Every kept tensor in BF16 (BF16 training; also DeepSeek's tile-scaled FP8 kernels
    /// without DeepSeek's recipe, for which no cache format is published).
    case bf16
    /// DeepSeek-V3's caches (report §3.3.3): Wgrad inputs and SwiGLU inputs in FP8 with a 4-B
    /// scale per 128 values, the attention-output Linear's input in E5M6.
    case deepSeekFP8
    /// Transformer Engine's FP8 Linears in its `recipe` (per tensor or MXFP8;
    /// `transformer_engine/pytorch/module/linear.py` and
    /// `layernorm_linear.py`: the FP8-cast input, or its transpose, is what `forward` saves for
    /// the weight gradient): every FP8 Linear keeps its own input in FP8, 1 B per value (plus
    /// the recipe's scales): the norm outputs, the SwiGLU outputs and the expert inputs. Tensors
    /// other operations keep stay BF16: Q, K, V and the attention output for the attention
    /// core's backward (so the output projection's FP8 input is a second copy), the SwiGLU
    /// input for Megatron-Core's fused SwiGLU (`fused_bias_swiglu.py` saves its BF16 input).
    /// Under MXFP8 each kept FP8 input carries its E8M0 scales, one byte per 32 values (the
    /// column-wise copy the weight gradient reads; `layernorm_linear.py` drops the row-wise copy
    /// once the forward's GEMM has run); under NVFP4 the kept copy is the column-wise FP4 one,
    /// half a byte per value and an E4M3 scale per 16 (TE's `nvfp4.rst`: the column-wise data
    /// is what the weight gradient's GEMM reads).
    case transformerEngine(QuantizationRecipe)

    /// The caching a recipe has: DeepSeek's when its savings are on with FP8 Linears;
    /// Transformer Engine's for its per-tensor, MX FP8 and NVFP4 otherwise; BF16 for the rest.
    public static func of(_ precision: PrecisionPolicy, deepSeekSavings: Bool) -> ActivationCaching {
        guard precision.linear.isQuantized else { return .bf16 }
        if deepSeekSavings { return .deepSeekFP8 }
        return precision.quantization == .deepSeek ? .bf16 : .transformerEngine(precision.quantization)
    }
}

extension Array where Element == ActivationInventory.Item {
    /// The items' bytes, summed in order.
    public var totalBytes: Double { reduce(0) { $0 + $1.bytes } }
}
