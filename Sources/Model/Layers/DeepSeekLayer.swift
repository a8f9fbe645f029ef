import Kernels

/// One Transformer layer of an MLA model (DeepSeek-V2/V3): attention, then a dense SwiGLU FFN
/// or the MoE (shared experts + routed experts behind an all-to-all), written once against
/// `Executor`. Forward and backward label every operation with the block and pass DualPipe
/// schedules them in (V3 report §3.2.1): attn, dispatch, mlp, combine × F, B (input grads,
/// recomputation included), W (weight grads).
///
/// Recomputation as DeepSeek-V3 does it (§3.2.3): every RMSNorm and the MLA up-projections
/// (W_UQ, W_UKV) are recomputed in backward instead of stored.
public struct DeepSeekLayer {
    public let arch: ModelArchitecture
    /// The layer whose shape this is.
    public let index: Int
    /// The index records carry (differs from `index` for the MTP block, labelled L + 1 + k).
    public let labelIndex: Int
    let mla: MLAShape
    let w: LayerWeights

    public init(arch: ModelArchitecture, index: Int, labelIndex: Int? = nil, policy: PrecisionPolicy) throws {
        guard case .mla(let m) = arch.attention else {
            throw KernelError("model", "\(arch.name) does not use MLA", fix: "DeepSeekLayer runs MLA models (DeepSeek-V2/V3)")
        }
        self.arch = arch
        self.index = index
        self.labelIndex = labelIndex ?? index
        mla = m
        w = LayerWeights(arch, mla: m, layer: index, policy: policy)
    }

    public var isMoE: Bool { w.gate != nil }

    /// What the forward keeps for the backward.
    public struct Tape<E: Executor> {
        var x: E.Tensor, cqRaw: E.Tensor, kvRaw: E.Tensor, o: E.Tensor, h: E.Tensor
        var route: E.RouteResult?
        var xs: [E.Tensor] = [], up: [E.Tensor] = [], ys: [E.Tensor] = []
        var ffnIn: E.Tensor? , ffnUp: E.Tensor?, sharedUp: E.Tensor?
    }

    // MARK: Forward

    public func forward<E: Executor>(_ e: inout E, _ x: E.Tensor) -> (out: E.Tensor, tape: Tape<E>) {
        e.layer = labelIndex
        e.pass = .forward
        e.recomputing = false
        e.block = .attention
        let a = attentionProjections(&e, x)
        let o = e.attention(a.q, a.k, a.v, heads: mla.heads)
        let h = e.add(x, e.linear(w.wo, o))
        let hNorm = e.rmsNorm("ffn_norm", h)
        var tape = Tape<E>(x: x, cqRaw: a.cqRaw, kvRaw: a.kvRaw, o: o, h: h)
        guard let gate = w.gate, let expertUp = w.expertUp, let expertDown = w.expertDown else {
            e.block = .mlp
            let up = e.linear(w.denseUp!, hNorm)
            let out = e.add(h, e.linear(w.denseDown!, e.swiglu(up)))
            tape.ffnIn = hNorm
            tape.ffnUp = up
            return (out, tape)
        }
        let route = e.route(e.gateScores(gate, hNorm))
        e.block = .dispatch
        let xs = e.dispatch(hNorm, route)
        e.block = .mlp
        let up = e.groupedLinear(expertUp, xs)
        let ys = e.groupedLinear(expertDown, up.map { e.swiglu($0) })
        var shared: E.Tensor?
        if let su = w.sharedUp, let sd = w.sharedDown {
            let sUp = e.linear(su, hNorm)
            tape.sharedUp = sUp
            shared = e.linear(sd, e.swiglu(sUp))
        }
        e.block = .combine
        let combined = e.combine(ys, route)
        e.block = .mlp
        var out = e.add(h, combined)
        if let shared { out = e.add(out, shared) }
        tape.route = route
        tape.xs = xs; tape.up = up; tape.ys = ys
        tape.ffnIn = hNorm
        return (out, tape)
    }

    struct Projections<T> { var q: T, k: T, v: T, cqRaw: T, kvRaw: T, xNorm: T, cq: T, ckv: T }

    /// Norm, down- and up-projections, RoPE: forward, and again as recomputation in backward.
    func attentionProjections<E: Executor>(_ e: inout E, _ x: E.Tensor, cqRaw saved: E.Tensor? = nil, kvRaw savedKV: E.Tensor? = nil) -> Projections<E.Tensor> {
        let m = mla, qk = m.qkNopeHeadDim + m.qkRopeHeadDim
        let xNorm = e.rmsNorm("attn_norm", x)
        let cqRaw = saved ?? e.linear(w.wqA, xNorm)
        let kvRaw = savedKV ?? e.linear(w.wkvA, xNorm)
        let cq = e.rmsNorm("q_norm", cqRaw)
        let q = e.rope(e.linear(w.wqB, cq), heads: m.heads, stride: qk, offset: m.qkNopeHeadDim, ropeDim: m.qkRopeHeadDim)
        let ckv = e.rmsNorm("kv_norm", e.columns(kvRaw, 0..<m.kvLoraRank))
        let kRope = e.rope(e.columns(kvRaw, m.kvLoraRank..<(m.kvLoraRank + m.qkRopeHeadDim)), heads: 1, stride: m.qkRopeHeadDim, offset: 0, ropeDim: m.qkRopeHeadDim)
        let kv = e.linear(w.wkvB, ckv)
        let width = m.qkNopeHeadDim + m.vHeadDim
        let k = e.interleave(e.headColumns(kv, heads: m.heads, stride: width, offset: 0, width: m.qkNopeHeadDim), width: m.qkNopeHeadDim, shared: kRope, heads: m.heads)
        let v = e.headColumns(kv, heads: m.heads, stride: width, offset: m.qkNopeHeadDim, width: m.vHeadDim)
        return Projections(q: q, k: k, v: v, cqRaw: cqRaw, kvRaw: kvRaw, xNorm: xNorm, cq: cq, ckv: ckv)
    }
}
