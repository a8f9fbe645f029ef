import Kernels

/// Grouped-query (and multi-head) attention of the Llama / Qwen / Mixtral family: RMSNorm, Q, K
/// and V projections (biased for Qwen2), RoPE on Q and K, causal attention with H/H_kv query
/// heads per K/V head (over the last `window` keys in a sliding-window layer), output
/// projection. Returns the block's contribution.
struct GQAAttention {
    let g: GQAShape
    let wq: Weight, wk: Weight, wv: Weight, wo: Weight
    /// Keys a query sees at most (nil: every earlier key).
    let window: Int?

    init(_ arch: ModelArchitecture, _ g: GQAShape, policy p: PrecisionPolicy, window: Int? = nil) {
        self.g = g
        self.window = window
        let d = arch.hiddenSize
        wq = Weight("wq", d, g.heads * g.headDim, precision: p.linear)
        wk = Weight("wk", d, g.kvHeads * g.headDim, precision: p.linear)
        wv = Weight("wv", d, g.kvHeads * g.headDim, precision: p.linear)
        wo = Weight("wo", g.heads * g.headDim, d, precision: p.linear)
    }

    /// `qRaw`, `kRaw`: the q and k projections before Qwen3's per-head norms, which the norms'
    /// backward needs (without the norms, the same tensors as `q` and `k` before RoPE).
    struct Tape<E: Executor> { var x: E.Tensor, xNorm: E.Tensor, qRaw: E.Tensor, kRaw: E.Tensor, q: E.Tensor, k: E.Tensor, v: E.Tensor, o: E.Tensor }

    func forward<E: Executor>(_ e: inout E, _ x: E.Tensor) -> (out: E.Tensor, tape: Tape<E>) {
        e.block = .attention
        let xNorm = e.rmsNorm("attn_norm", x)
        let qRaw = e.linear(wq, xNorm), kRaw = e.linear(wk, xNorm)
        let v = e.linear(wv, xNorm)
        // Qwen2's q/k/v biases are added in the GEMM epilogue (no kernel of their own).
        var q = qRaw, k = kRaw
        if g.qkNorm { q = e.headRMSNorm("q_norm", q, heads: g.heads); k = e.headRMSNorm("k_norm", k, heads: g.kvHeads) }
        q = e.rope(q, heads: g.heads, stride: g.headDim, offset: 0, ropeDim: g.headDim)
        k = e.rope(k, heads: g.kvHeads, stride: g.headDim, offset: 0, ropeDim: g.headDim)
        let o = e.attention(q, k, v, heads: g.heads, kvHeads: g.kvHeads, window: window)
        return (e.linear(wo, o), Tape(x: x, xNorm: xNorm, qRaw: qRaw, kRaw: kRaw, q: q, k: k, v: v, o: o))
    }

    /// Gradient of the block input, recomputing per `policy` and Megatron's `modules` (the
    /// attention core; the input norm).
    func backward<E: Executor>(_ e: inout E, _ dOut: E.Tensor, tape t: Tape<E>, policy: RecomputePolicy,
                               modules: Set<RecomputeModule> = []) -> E.Tensor {
        e.block = .attention
        e.pass = .backwardInput
        var o = t.o, xNorm = t.xNorm
        if policy == .selective || modules.contains(.coreAttn) {
            e.recomputing = true
            o = e.attention(t.q, t.k, t.v, heads: g.heads, kvHeads: g.kvHeads, window: window)
            e.recomputing = false
        }
        if policy == .deepseek || modules.contains(.layernorm) {
            e.recomputing = true
            xNorm = e.rmsNorm("attn_norm", t.x)
            e.recomputing = false
        }
        let dO = e.linearDgrad(wo, dOut)
        let a = e.attentionBackward(t.q, t.k, t.v, dO, heads: g.heads, kvHeads: g.kvHeads, window: window)
        var dq = e.rope(a.dq, heads: g.heads, stride: g.headDim, offset: 0, ropeDim: g.headDim)
        var dk = e.rope(a.dk, heads: g.kvHeads, stride: g.headDim, offset: 0, ropeDim: g.headDim)
        if g.qkNorm {
            dq = e.headRMSNormBackward("q_norm", t.qRaw, dq, heads: g.heads)
            dk = e.headRMSNormBackward("k_norm", t.kRaw, dk, heads: g.kvHeads)
        }
        let dXNorm = e.add(e.add(e.linearDgrad(wq, dq), e.linearDgrad(wk, dk)), e.linearDgrad(wv, a.dv))
        let dx = e.rmsNormBackward("attn_norm", t.x, dXNorm)
        e.pass = .backwardWeight
        e.linearWgrad(wo, o, dOut)
        e.linearWgrad(wq, xNorm, dq)
        e.linearWgrad(wk, xNorm, dk)
        e.linearWgrad(wv, xNorm, a.dv)
        e.pass = .backwardInput
        return dx
    }
}
