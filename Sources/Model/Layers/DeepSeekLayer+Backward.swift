import Kernels

extension DeepSeekLayer {
    /// Backward of one layer in DeepSeek's order (trace, reference §3.2): combine(B), mlp(B),
    /// dispatch(B), mlp(W), attn(B), attn(W). Returns the gradient of the layer input.
    public func backward<E: Executor>(_ e: inout E, _ dOut: E.Tensor, tape t: Tape<E>) -> E.Tensor {
        e.layer = labelIndex
        e.recomputing = false
        var dHNorm: E.Tensor
        if let gate = w.gate, let expertUp = w.expertUp, let expertDown = w.expertDown, let route = t.route, let hNorm = t.ffnIn {
            e.pass = .backwardInput
            e.block = .combine
            let dYs = e.combineBackward(dOut, route)
            e.block = .mlp
            let dAct = e.groupedLinearDgrad(expertDown, dYs)
            e.recomputing = true
            let act = t.up.map { e.swiglu($0) }               // SwiGLU output recomputed from its cached input
            e.recomputing = false
            let dUp = zip(t.up, dAct).map { e.swigluBackward($0, $1) }
            let dXs = e.groupedLinearDgrad(expertUp, dUp)
            var dShared: E.Tensor?, sharedAct: E.Tensor?, dSharedUp: E.Tensor?
            if let su = w.sharedUp, let sd = w.sharedDown, let sUp = t.sharedUp {
                e.recomputing = true
                sharedAct = e.swiglu(sUp)
                e.recomputing = false
                dSharedUp = e.swigluBackward(sUp, e.linearDgrad(sd, dOut))
                dShared = e.linearDgrad(su, dSharedUp!)
            }
            let dScores = e.gateScoresGrad(dOut, t.ys, route)
            let dGate = e.linearDgrad(gate, dScores)
            e.block = .dispatch
            let dRouted = e.dispatchBackward(dXs, route)
            e.pass = .backwardWeight
            e.block = .mlp
            e.groupedLinearWgrad(expertDown, act, dYs)
            e.groupedLinearWgrad(expertUp, t.xs, dUp)
            if let su = w.sharedUp, let sd = w.sharedDown, let sAct = sharedAct, let dsu = dSharedUp {
                e.linearWgrad(sd, sAct, dOut)
                e.linearWgrad(su, hNorm, dsu)
            }
            e.linearWgrad(gate, hNorm, dScores)
            e.pass = .backwardInput
            e.block = .attention
            dHNorm = e.add(dRouted, dGate)
            if let dShared { dHNorm = e.add(dHNorm, dShared) }
        } else {
            e.pass = .backwardInput
            e.block = .mlp
            let up = t.ffnUp!, hNorm = t.ffnIn!
            e.recomputing = true
            let act = e.swiglu(up)
            e.recomputing = false
            let dUp = e.swigluBackward(up, e.linearDgrad(w.denseDown!, dOut))
            dHNorm = e.linearDgrad(w.denseUp!, dUp)
            e.pass = .backwardWeight
            e.linearWgrad(w.denseDown!, act, dOut)
            e.linearWgrad(w.denseUp!, hNorm, dUp)
            e.pass = .backwardInput
            e.block = .attention
        }
        let dh = e.add(e.rmsNormBackward("ffn_norm", t.h, dHNorm), dOut)
        return attentionBackward(&e, dh, tape: t)
    }

    func attentionBackward<E: Executor>(_ e: inout E, _ dh: E.Tensor, tape t: Tape<E>) -> E.Tensor {
        let m = mla, qk = m.qkNopeHeadDim + m.qkRopeHeadDim
        e.block = .attention
        e.pass = .backwardInput
        e.recomputing = true
        let p = attentionProjections(&e, t.x, cqRaw: t.cqRaw, kvRaw: t.kvRaw)
        e.recomputing = false
        let dO = e.linearDgrad(w.wo, dh)
        let g = e.attentionBackward(p.q, p.k, p.v, dO, heads: m.heads)
        let dk = e.deinterleave(g.dk, width: m.qkNopeHeadDim, sharedWidth: m.qkRopeHeadDim, heads: m.heads)
        let dKV = e.mergeHeads(dk.perHead, width: m.qkNopeHeadDim, g.dv, width: m.vHeadDim, heads: m.heads)
        let dKRope = e.rope(dk.shared, heads: 1, stride: m.qkRopeHeadDim, offset: 0, ropeDim: m.qkRopeHeadDim)
        let dCkv = e.rmsNormBackward("kv_norm", e.columns(t.kvRaw, 0..<m.kvLoraRank), e.linearDgrad(w.wkvB, dKV))
        let dKvRaw = e.concat(dCkv, dKRope)
        let dQ = e.rope(g.dq, heads: m.heads, stride: qk, offset: m.qkNopeHeadDim, ropeDim: m.qkRopeHeadDim)
        let dCqRaw = e.rmsNormBackward("q_norm", t.cqRaw, e.linearDgrad(w.wqB, dQ))
        let dXNorm = e.add(e.linearDgrad(w.wqA, dCqRaw), e.linearDgrad(w.wkvA, dKvRaw))
        let dx = e.add(e.rmsNormBackward("attn_norm", t.x, dXNorm), dh)
        e.pass = .backwardWeight
        e.linearWgrad(w.wo, t.o, dh)
        e.linearWgrad(w.wkvB, p.ckv, dKV)
        e.linearWgrad(w.wqB, p.cq, dQ)
        e.linearWgrad(w.wqA, p.xNorm, dCqRaw)
        e.linearWgrad(w.wkvA, p.xNorm, dKvRaw)
        return dx
    }
}
