import Kernels

/// One Transformer layer of any supported model — attention (MLA or GQA) then an FFN (dense or
/// MoE), each with a residual — written once against `Executor`. Forward and backward label
/// every operation with the block and pass DualPipe schedules them in (V3 report §3.2.1): attn,
/// dispatch, mlp, combine × F, B (input grads, recomputation included), W (weight grads).
public struct TransformerLayer {
    /// The layer whose shape this is.
    public let index: Int
    /// The index records carry (the MTP block is labelled L + 1 + k).
    public let labelIndex: Int
    public let recompute: RecomputePolicy
    /// Megatron-LM's recomputed modules, on top of `recompute` (normally `.none`).
    public let recomputeModules: Set<RecomputeModule>
    let attention: Attention
    let ffn: FeedForward

    enum Attention {
        case mla(MLAAttention)
        case gqa(GQAAttention)
    }

    public init(arch: ModelArchitecture, index: Int, labelIndex: Int? = nil, policy: PrecisionPolicy,
                recompute: RecomputePolicy? = nil, recomputeModules: Set<RecomputeModule> = []) throws {
        self.index = index
        self.labelIndex = labelIndex ?? index
        switch arch.attention {
        case .mla(let m): attention = .mla(MLAAttention(arch, m, policy: policy))
        case .gqa(let g): attention = .gqa(GQAAttention(arch, g, policy: policy, window: arch.attentionWindow(layer: index)))
        }
        self.recompute = recompute ?? arch.defaultRecompute
        self.recomputeModules = recomputeModules
        ffn = FeedForward(arch, layer: index, policy: policy)
    }

    public var isMoE: Bool { ffn.isMoE }

    /// What the forward keeps for the backward.
    public struct Tape<E: Executor> {
        enum AttentionTape { case mla(MLAAttention.Tape<E>), gqa(GQAAttention.Tape<E>) }
        var x: E.Tensor, h: E.Tensor
        var attention: AttentionTape
        var ffn: FeedForward.Tape<E>
    }

    public func forward<E: Executor>(_ e: inout E, _ x: E.Tensor) -> (out: E.Tensor, tape: Tape<E>) {
        e.layer = labelIndex
        e.pass = .forward
        e.recomputing = false
        return run(&e, x)
    }

    /// The forward computation, under whatever pass and recomputation flag the caller set.
    func run<E: Executor>(_ e: inout E, _ x: E.Tensor) -> (out: E.Tensor, tape: Tape<E>) {
        let a: E.Tensor, at: Tape<E>.AttentionTape
        switch attention {
        case .mla(let m): let r = m.forward(&e, x); a = r.out; at = .mla(r.tape)
        case .gqa(let g): let r = g.forward(&e, x); a = r.out; at = .gqa(r.tape)
        }
        let h = e.add(x, a)
        let f = ffn.forward(&e, e.rmsNorm("ffn_norm", h))
        let out = e.add(h, f.out)
        return (out, Tape(x: x, h: h, attention: at, ffn: f.tape))
    }

    /// Backward: FFN (combine(B), mlp(B), dispatch(B), mlp(W)), then attention (attn(B),
    /// attn(W)). With `.full` recomputation the whole forward is first rerun (flagged).
    public func backward<E: Executor>(_ e: inout E, _ dOut: E.Tensor, tape saved: Tape<E>) -> E.Tensor {
        e.layer = labelIndex
        var t = saved
        if recompute == .full {
            e.pass = .backwardInput
            e.recomputing = true
            t = run(&e, saved.x).tape
            e.recomputing = false
        }
        e.pass = .backwardInput
        if recomputeModules.contains(ffn.isMoE ? .moe : .mlp) {
            // Megatron's `moe` / `mlp` module: the FFN's forward rerun from its input (itself
            // rerun when the `layernorm` module does not keep the pre-MLP norm's output).
            e.recomputing = true
            let input = recomputeModules.contains(.layernorm) ? e.rmsNorm("ffn_norm", t.h) : t.ffn.source
            t.ffn = ffn.forward(&e, input).tape
            e.recomputing = false
        }
        let dHNorm = ffn.backward(&e, dOut, tape: t.ffn, recomputeShared: recomputeModules.contains(.sharedExperts))
        e.block = .attention
        let dh = e.add(e.rmsNormBackward("ffn_norm", t.h, dHNorm), dOut)
        let dx: E.Tensor
        switch (attention, t.attention) {
        case (.mla(let m), .mla(let mt)): dx = m.backward(&e, dh, tape: mt, policy: recompute, modules: recomputeModules)
        case (.gqa(let g), .gqa(let gt)): dx = g.backward(&e, dh, tape: gt, policy: recompute, modules: recomputeModules)
        default: preconditionFailure("attention tape of the wrong kind")
        }
        return e.add(dx, dh)
    }
}
