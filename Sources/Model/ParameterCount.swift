/// Parameter counts computed from the architecture (nothing stored).
///
/// Conventions: a linear layer of `in → out` has `in·out` weights (plus `out` if biased);
/// RMSNorm has `d` weights; the MoE gate has `d·E` weights (plus `E` bias for aux-loss-free
/// routing). The MTP module counts its own block, norms and d×2d projection, not the
/// embedding and head it shares with the main model.
public struct ParameterCount: Codable, Sendable, Equatable {
    /// All parameters of the main model (embedding and head included, MTP excluded).
    public var total: Int
    /// Parameters a token touches in the main model (embedding row and head included).
    public var activated: Int
    /// Unique parameters of the MTP modules.
    public var mtp: Int
    /// Parameters a token touches in the MTP modules (excluding the shared head).
    public var mtpActivated: Int
    /// Input embedding matrix.
    public var embedding: Int
    /// Output head (0 when tied to the embedding).
    public var head: Int
    /// Routed-expert parameters (the part sharded by expert parallelism).
    public var routedExperts: Int
}

extension ModelArchitecture {
    /// Weights of one attention block (projections and their internal norms).
    public var attentionParameters: Int {
        let d = hiddenSize
        switch attention {
        case .mla(let m):
            let qk = m.qkNopeHeadDim + m.qkRopeHeadDim
            let query: Int
            if let r = m.qLoraRank {
                query = d * r + r + r * m.heads * qk        // W_DQ, q norm, W_UQ (+ W_QR folded in)
            } else {
                query = d * m.heads * qk
            }
            let kvDown = d * (m.kvLoraRank + m.qkRopeHeadDim) + m.kvLoraRank   // W_DKV + W_KR, kv norm
            let kvUp = m.kvLoraRank * m.heads * (m.qkNopeHeadDim + m.vHeadDim) // W_UK, W_UV
            let out = m.heads * m.vHeadDim * d
            return query + kvDown + kvUp + out
        case .gqa(let g):
            let q = d * g.heads * g.headDim
            let kv = 2 * d * g.kvHeads * g.headDim
            let bias = g.qkvBias ? (g.heads + 2 * g.kvHeads) * g.headDim : 0
            let qkNorms = g.qkNorm ? 2 * g.headDim : 0
            return q + kv + bias + qkNorms + g.heads * g.headDim * d
        }
    }

    /// Weights of one SwiGLU FFN of the given intermediate size (gate, up, down).
    public func swigluParameters(intermediate: Int) -> Int { 3 * hiddenSize * intermediate }

    /// Router weights of one MoE layer.
    public var gateParameters: Int {
        guard let moe else { return 0 }
        return hiddenSize * moe.routedExperts + (moe.hasRoutingBias ? moe.routedExperts : 0)
    }

    /// (total, activated-per-token) weights of layer `index`, norms included.
    public func layerParameters(_ index: Int) -> (total: Int, activated: Int) {
        let norms = 2 * hiddenSize
        let base = attentionParameters + norms
        guard let moe, moe.isMoE(layer: index) else {
            let ffn = swigluParameters(intermediate: denseIntermediateSize)
            return (base + ffn, base + ffn)
        }
        let expert = swigluParameters(intermediate: moe.expertIntermediateSize)
        let shared = swigluParameters(intermediate: moe.sharedSliceIntermediateSize)
        let total = base + gateParameters + expert * moe.routedExperts + shared
        let activated = base + gateParameters + expert * moe.topK + shared
        return (total, activated)
    }

    /// The MTP block is a copy of the last layer's shape (MoE for DeepSeek-V3).
    var mtpBlockParameters: (total: Int, activated: Int) { layerParameters(layers - 1) }

    public var parameters: ParameterCount {
        let embedding = vocabularySize * hiddenSize
        let head = tiedEmbeddings ? 0 : vocabularySize * hiddenSize
        var total = embedding + head + hiddenSize        // + final norm
        var activated = total
        for i in 0..<layers {
            let p = layerParameters(i)
            total += p.total
            activated += p.activated
        }
        // Each MTP module: two input norms, the d×2d projection, a block, and its own final norm.
        let mtpExtra = 2 * hiddenSize + 2 * hiddenSize * hiddenSize + hiddenSize
        let mtp = mtpDepth * (mtpExtra + mtpBlockParameters.total)
        let mtpActivated = mtpDepth * (mtpExtra + mtpBlockParameters.activated)
        var routed = 0
        if let moe {
            routed = moeLayerCount * moe.routedExperts * swigluParameters(intermediate: moe.expertIntermediateSize)
        }
        return ParameterCount(total: total, activated: activated, mtp: mtp, mtpActivated: mtpActivated,
                              embedding: embedding, head: head, routedExperts: routed)
    }
}
