/// Training FLOPs per token, computed from the architecture.
///
/// Convention (Narayanan et al. SC'21; Chowdhery et al. 2022 App. B; ISCA 2025 Table 2): a
/// matrix product with a weight of `n` entries costs 2n FLOPs per token forward and 4n backward,
/// so 6n in training; embedding lookups, norms and element-wise ops are not counted; the
/// attention score and value products cost, per token, layer and head, 2·(d_qk + d_v)·L forward
/// for a context of L keys. Causal attention counts the lower triangle only (L/2 on average),
/// the FlashAttention convention DeepSeek uses for its "causal" TFLOPS; non-causal counts all L
/// keys (the Megatron convention). Recomputation is not counted (model FLOPs, as for MFU).
public struct TrainingFLOPs: Codable, Sendable, Equatable {
    /// Sequence length the figures are for, tokens.
    public var sequenceLength: Int
    /// Forward + backward FLOPs per token of the main model, causal attention.
    public var causal: Double
    /// Same with non-causal attention.
    public var noncausal: Double
    /// The matrix-product part (independent of attention masking).
    public var linear: Double
    /// Attention score/value part, causal.
    public var attentionCausal: Double
    /// The MTP modules (reported apart), causal.
    public var mtpCausal: Double
    /// The MTP modules, non-causal.
    public var mtpNoncausal: Double
}

extension ModelArchitecture {
    /// Weights a token multiplies by in one layer (norm vectors and biases excluded).
    public func matmulWeights(layer index: Int) -> Int {
        let d = hiddenSize
        var attentionMatmul: Int
        switch attention {
        case .mla(let m):
            let qk = m.qkNopeHeadDim + m.qkRopeHeadDim
            let query = m.qLoraRank.map { d * $0 + $0 * m.heads * qk } ?? d * m.heads * qk
            attentionMatmul = query + d * (m.kvLoraRank + m.qkRopeHeadDim)
                + m.kvLoraRank * m.heads * (m.qkNopeHeadDim + m.vHeadDim) + m.heads * m.vHeadDim * d
        case .gqa(let g):
            attentionMatmul = d * (g.heads + 2 * g.kvHeads) * g.headDim + g.heads * g.headDim * d
        }
        guard let moe, moe.isMoE(layer: index) else {
            return attentionMatmul + swigluParameters(intermediate: denseIntermediateSize)
        }
        return attentionMatmul + d * moe.routedExperts
            + swigluParameters(intermediate: moe.expertIntermediateSize) * (moe.topK + moe.sharedExperts)
    }

    /// Forward FLOPs per token of the score and value products in one layer, for `keys` keys.
    public func attentionForwardFLOPs(keys: Double) -> Double {
        2 * Double(attention.heads) * Double(attention.qkHeadDim + attention.vHeadDim) * keys
    }

    /// Training FLOPs per token at sequence length `seqLen`.
    public func trainingFLOPs(sequenceLength seqLen: Int) -> TrainingFLOPs {
        let headMatmul = Double(vocabularySize * hiddenSize)
        var linearForward = 2 * headMatmul
        for i in 0..<layers { linearForward += 2 * Double(matmulWeights(layer: i)) }
        let L = Double(seqLen)
        // Keys per token, averaged over the sequence: L/2 causal, L non-causal; in a layer with
        // a sliding window w < L, w − w²/(2L) causal (the triangle's L²/2 convention continued:
        // L·w − w²/2 pairs) and w non-causal.
        var causalKeys = Double(layers) * (L / 2), noncausalKeys = Double(layers) * L
        for i in 0..<layers {
            guard let window = attentionWindow(layer: i), Double(window) < L else { continue }
            let w = Double(window)
            causalKeys += (w - w * w / (2 * L)) - L / 2
            noncausalKeys += w - L
        }
        let attentionCausal = 3 * attentionForwardFLOPs(keys: causalKeys)
        let attentionNoncausal = 3 * attentionForwardFLOPs(keys: noncausalKeys)
        let linear = 3 * linearForward
        // MTP: the d×2d projection, one block and a second pass through the shared head.
        let mtpLinear = 3 * Double(mtpDepth) * 2 * (Double(2 * hiddenSize * hiddenSize) + Double(matmulWeights(layer: layers - 1)) + headMatmul)
        let mtpAttentionCausal = 3 * Double(mtpDepth) * attentionForwardFLOPs(keys: L / 2)
        let mtpAttentionNoncausal = 3 * Double(mtpDepth) * attentionForwardFLOPs(keys: L)
        return TrainingFLOPs(sequenceLength: seqLen,
                             causal: linear + attentionCausal, noncausal: linear + attentionNoncausal,
                             linear: linear, attentionCausal: attentionCausal,
                             mtpCausal: mtpDepth > 0 ? mtpLinear + mtpAttentionCausal : 0,
                             mtpNoncausal: mtpDepth > 0 ? mtpLinear + mtpAttentionNoncausal : 0)
    }

    /// Bytes of KV cache per token in BF16 (ISCA 2025 Table 1 convention, 2 B per element).
    /// MLA caches the compressed latent and the shared RoPE key: layers·(d_c + d_h^R)·2.
    /// GQA caches K and V of each KV head: layers·2·kv_heads·head_dim·2.
    public var kvCacheBytesPerToken: Int { layers * kvCacheBytesPerTokenPerLayer }

    /// One layer's share of `kvCacheBytesPerToken`.
    public var kvCacheBytesPerTokenPerLayer: Int {
        switch attention {
        case .mla(let m): return (m.kvLoraRank + m.qkRopeHeadDim) * 2
        case .gqa(let g): return 2 * g.kvHeads * g.headDim * 2
        }
    }

    /// Bytes of KV cache one sequence of `context` tokens holds: every layer caches its keys and
    /// values for the whole context, a sliding-window layer only for its last `window` tokens.
    public func kvCacheBytes(context: Int) -> Double {
        let perLayer = Double(kvCacheBytesPerTokenPerLayer)
        return (0..<layers).reduce(0.0) { $0 + perLayer * Double(min(context, attentionWindow(layer: $1) ?? context)) }
    }
}
