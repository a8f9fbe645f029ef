import Kernels

/// Multi-head Latent Attention (DeepSeek-V2/V3): RMSNorm, low-rank query and joint KV
/// compression with a decoupled RoPE key, causal attention, output projection. Returns the
/// block's contribution (the caller adds the residual).
struct MLAAttention {
    let m: MLAShape
    let wqA: Weight, wqB: Weight, wkvA: Weight, wkvB: Weight, wo: Weight

    init(_ arch: ModelArchitecture, _ m: MLAShape, policy p: PrecisionPolicy) {
        self.m = m
        let d = arch.hiddenSize, h = m.heads, qk = m.qkNopeHeadDim + m.qkRopeHeadDim, r = m.qLoraRank ?? d
        wqA = Weight("wq_a", d, r, precision: p.linear)
        wqB = Weight("wq_b", r, h * qk, precision: p.linear)
        wkvA = Weight("wkv_a", d, m.kvLoraRank + m.qkRopeHeadDim, precision: p.linear)
        wkvB = Weight("wkv_b", m.kvLoraRank, h * (m.qkNopeHeadDim + m.vHeadDim), precision: p.linear)
        wo = Weight("wo", h * m.vHeadDim, d, precision: p.linear)
    }

    struct Projections<T> { var q: T, k: T, v: T, cqRaw: T, kvRaw: T, xNorm: T, cq: T, ckv: T }

    struct Tape<E: Executor> {
        var x: E.Tensor, o: E.Tensor
        var p: Projections<E.Tensor>
    }

    /// Norm, down- and up-projections and RoPE; with `saved` down-projections (recomputation in
    /// backward) the down-projection GEMMs are not rerun.
    func project<E: Executor>(_ e: inout E, _ x: E.Tensor, saved: (cq: E.Tensor, kv: E.Tensor)? = nil) -> Projections<E.Tensor> {
        let qk = m.qkNopeHeadDim + m.qkRopeHeadDim
        let xNorm = e.rmsNorm("attn_norm", x)
        let cqRaw = saved?.cq ?? e.linear(wqA, xNorm)
        let kvRaw = saved?.kv ?? e.linear(wkvA, xNorm)
        let cq = e.rmsNorm("q_norm", cqRaw)
        let q = e.rope(e.linear(wqB, cq), heads: m.heads, stride: qk, offset: m.qkNopeHeadDim, ropeDim: m.qkRopeHeadDim)
        let ckv = e.rmsNorm("kv_norm", e.columns(kvRaw, 0..<m.kvLoraRank))
        let kRope = e.rope(e.columns(kvRaw, m.kvLoraRank..<(m.kvLoraRank + m.qkRopeHeadDim)), heads: 1, stride: m.qkRopeHeadDim, offset: 0, ropeDim: m.qkRopeHeadDim)
        let kv = e.linear(wkvB, ckv)
        let width = m.qkNopeHeadDim + m.vHeadDim
        let k = e.interleave(e.headColumns(kv, heads: m.heads, stride: width, offset: 0, width: m.qkNopeHeadDim), width: m.qkNopeHeadDim, shared: kRope, heads: m.heads)
        let v = e.headColumns(kv, heads: m.heads, stride: width, offset: m.qkNopeHeadDim, width: m.vHeadDim)
        return Projections(q: q, k: k, v: v, cqRaw: cqRaw, kvRaw: kvRaw, xNorm: xNorm, cq: cq, ckv: ckv)
    }

    func forward<E: Executor>(_ e: inout E, _ x: E.Tensor) -> (out: E.Tensor, tape: Tape<E>) {
        e.block = .attention
        let p = project(&e, x)
        let o = e.attention(p.q, p.k, p.v, heads: m.heads, kvHeads: m.heads)
        return (e.linear(wo, o), Tape(x: x, o: o, p: p))
    }

    /// Gradient of the block input (through attn_norm), recomputing per `policy` and Megatron's
    /// `modules` (the up-projections rerun from the kept latents, with the input norm; the
    /// input norm alone; the attention core); the weight gradients follow in attn(W).
    func backward<E: Executor>(_ e: inout E, _ dOut: E.Tensor, tape t: Tape<E>, policy: RecomputePolicy,
                               modules: Set<RecomputeModule> = []) -> E.Tensor {
        let qk = m.qkNopeHeadDim + m.qkRopeHeadDim
        e.block = .attention
        e.pass = .backwardInput
        var p = t.p, o = t.o
        if policy == .deepseek || modules.contains(.mlaUpProj) {
            e.recomputing = true
            p = project(&e, t.x, saved: (t.p.cqRaw, t.p.kvRaw))
            e.recomputing = false
        } else if modules.contains(.layernorm) {
            e.recomputing = true
            p.xNorm = e.rmsNorm("attn_norm", t.x)
            e.recomputing = false
        }
        if policy == .selective || modules.contains(.coreAttn) {
            e.recomputing = true
            o = e.attention(p.q, p.k, p.v, heads: m.heads, kvHeads: m.heads)
            e.recomputing = false
        }
        let dO = e.linearDgrad(wo, dOut)
        let g = e.attentionBackward(p.q, p.k, p.v, dO, heads: m.heads, kvHeads: m.heads)
        let dk = e.deinterleave(g.dk, width: m.qkNopeHeadDim, sharedWidth: m.qkRopeHeadDim, heads: m.heads)
        let dKV = e.mergeHeads(dk.perHead, width: m.qkNopeHeadDim, g.dv, width: m.vHeadDim, heads: m.heads)
        let dKRope = e.rope(dk.shared, heads: 1, stride: m.qkRopeHeadDim, offset: 0, ropeDim: m.qkRopeHeadDim)
        let dCkv = e.rmsNormBackward("kv_norm", e.columns(t.p.kvRaw, 0..<m.kvLoraRank), e.linearDgrad(wkvB, dKV))
        let dKvRaw = e.concat(dCkv, dKRope)
        let dQ = e.rope(g.dq, heads: m.heads, stride: qk, offset: m.qkNopeHeadDim, ropeDim: m.qkRopeHeadDim)
        let dCqRaw = e.rmsNormBackward("q_norm", t.p.cqRaw, e.linearDgrad(wqB, dQ))
        let dXNorm = e.add(e.linearDgrad(wqA, dCqRaw), e.linearDgrad(wkvA, dKvRaw))
        let dx = e.rmsNormBackward("attn_norm", t.x, dXNorm)
        e.pass = .backwardWeight
        e.linearWgrad(wo, o, dOut)
        e.linearWgrad(wkvB, p.ckv, dKV)
        e.linearWgrad(wqB, p.cq, dQ)
        e.linearWgrad(wqA, p.xNorm, dCqRaw)
        e.linearWgrad(wkvA, p.xNorm, dKvRaw)
        e.pass = .backwardInput
        return dx
    }
}
