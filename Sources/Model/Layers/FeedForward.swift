import Kernels

/// The FFN of a layer: a dense SwiGLU, or an MoE (routed experts behind the all-to-all, plus
/// shared experts) — written once for every model. Input: the normalised hidden state; output:
/// the FFN's contribution (the caller adds the residual).
public struct FeedForward {
    let up: Weight?, down: Weight?
    let gate: Weight?, expertUp: Weight?, expertDown: Weight?, sharedUp: Weight?, sharedDown: Weight?
    /// Top-k selections the router runs per token (`RouterConfig.topKSelections`).
    let topKPasses: Int
    /// The routed experts add biases after their projections (`MoEShape.expertBias`).
    let expertBias: Bool

    init(_ arch: ModelArchitecture, layer: Int, policy p: PrecisionPolicy) {
        let d = arch.hiddenSize
        if let moe = arch.moe, moe.isMoE(layer: layer) {
            up = nil; down = nil
            gate = Weight("gate", d, moe.routedExperts, precision: p.gate)
            topKPasses = arch.routerConfig?.topKSelections ?? 1
            expertBias = moe.expertBias
            // Under expert-TP each GPU holds a slice of every local expert's width.
            expertUp = Weight("experts.up", d, 2 * moe.routedSliceIntermediateSize, precision: p.linear)
            expertDown = Weight("experts.down", moe.routedSliceIntermediateSize, d, precision: p.linear)
            // Shared experts are a tensor-parallel MLP: 1/TP of their width on each GPU.
            let i = moe.sharedSliceIntermediateSize
            sharedUp = i > 0 ? Weight("shared.up", d, 2 * i, precision: p.linear) : nil
            sharedDown = i > 0 ? Weight("shared.down", i, d, precision: p.linear) : nil
        } else {
            up = Weight("ffn.up", d, 2 * arch.denseIntermediateSize, precision: p.linear)
            down = Weight("ffn.down", arch.denseIntermediateSize, d, precision: p.linear)
            gate = nil; expertUp = nil; expertDown = nil; sharedUp = nil; sharedDown = nil
            topKPasses = 0
            expertBias = false
        }
    }

    public var isMoE: Bool { gate != nil }

    public struct Tape<E: Executor> {
        /// The FFN's input as the layer passed it (`input` is this GPU's share of it under
        /// sequence parallelism), from which a recomputation reruns the forward.
        var source: E.Tensor
        var input: E.Tensor
        var up: E.Tensor?, sharedUp: E.Tensor?
        var route: E.RouteResult?
        var xs: [E.Tensor] = [], expertUp: [E.Tensor] = []
    }

    /// Forward; labels: attn (gate), dispatch, mlp, combine.
    func forward<E: Executor>(_ e: inout E, _ full: E.Tensor) -> (out: E.Tensor, tape: Tape<E>) {
        guard let gate, let expertUp, let expertDown else {
            var tape = Tape<E>(source: full, input: full)
            e.block = .mlp
            let u = e.linear(up!, full)
            tape.up = u
            return (e.linear(down!, e.swiglu(u)), tape)
        }
        // Under sequence parallelism each GPU routes its own share of the tokens.
        let x = e.sequenceShard(full)
        var tape = Tape<E>(source: full, input: x)
        let route = e.route(e.gateScores(gate, x, topKPasses: topKPasses))   // in attn(F), as in DeepSeek's trace
        e.quantizeForDispatch(x, route)                      // in attn(F) too (the trace's special-format cast)
        e.block = .dispatch
        let xs = e.dispatch(x, route)
        e.block = .mlp
        var ups = e.groupedLinear(expertUp, xs)
        if expertBias { ups = e.expertBias(ups, weighted: false) }
        var ys = e.groupedLinear(expertDown, e.weightedSwiglu(ups, route))   // gate weights applied here
        if expertBias { ys = e.expertBias(ys, weighted: true) }
        // The shared experts run as a tensor-parallel MLP, as Megatron-Core's SharedExpertMLP:
        // on the whole sequence's rows (all-gathered under sequence parallelism) at 1/TP of
        // their width, their output reduce-scattered back to this GPU's share (the TP
        // collectives are priced with the block's, `TensorParallelCollectives`).
        var shared: E.Tensor?
        if let su = sharedUp, let sd = sharedDown {
            let u = e.linear(su, full)
            tape.sharedUp = u
            shared = e.sequenceShard(e.linear(sd, e.swiglu(u)))
        }
        e.block = .combine
        var out = e.combine(ys, route)
        e.block = .mlp
        if let shared { out = e.add(out, shared) }
        tape.route = route; tape.xs = xs; tape.expertUp = ups
        return (e.sequenceUnshard(out, like: full), tape)
    }

    /// Backward in DeepSeek's order: combine(B), mlp(B), dispatch(B), then mlp(W). Returns the
    /// gradient of the FFN input; leaves the pass at backward-for-inputs.
    /// `recomputeShared`: the shared experts' up-projection is rerun first (Megatron's
    /// `shared_experts` module) instead of read from the tape.
    func backward<E: Executor>(_ e: inout E, _ dFull: E.Tensor, tape t: Tape<E>, recomputeShared: Bool = false) -> E.Tensor {
        e.pass = .backwardInput
        guard let gate, let expertUp, let expertDown, let route = t.route else {
            let dOut = dFull
            e.block = .mlp
            e.recomputing = true
            let act = e.swiglu(t.up!)                        // SwiGLU output recomputed from its input
            e.recomputing = false
            let dUp = e.swigluBackward(t.up!, e.linearDgrad(down!, dOut))
            let dx = e.linearDgrad(up!, dUp)
            e.pass = .backwardWeight
            e.linearWgrad(down!, act, dOut)
            e.linearWgrad(up!, t.input, dUp)
            e.pass = .backwardInput
            return dx
        }
        let dOut = e.sequenceShard(dFull)
        e.block = .combine
        e.quantizeForDispatch(dOut, route)                   // in combine(B), as in the trace
        let dYs = e.combineBackward(dOut, route)
        e.block = .mlp
        // With expert biases, the down projection's output gradient passes their backward first
        // (and the up projection's, below).
        let dDown = expertBias ? e.expertBiasBackward(dYs, weighted: true) : dYs
        let dH = e.groupedLinearDgrad(expertDown, dDown)
        // The weighted SwiGLU output is recomputed in the same pass as its backward (the down
        // projection's weight-gradient input), and the gate weights' gradient taken there.
        var (act, dUp, dScores) = e.weightedSwigluBackward(t.expertUp, dH, route)
        if expertBias { dUp = e.expertBiasBackward(dUp, weighted: false) }
        let dXs = e.groupedLinearDgrad(expertUp, dUp)
        var dShared: E.Tensor?, sharedAct: E.Tensor?, dSharedUp: E.Tensor?
        if let su = sharedUp, let sd = sharedDown, var u = t.sharedUp {
            e.recomputing = true
            if recomputeShared { u = e.linear(su, t.source) }
            sharedAct = e.swiglu(u)
            e.recomputing = false
            // On the whole sequence's rows, as the forward.
            dSharedUp = e.swigluBackward(u, e.linearDgrad(sd, dFull))
            dShared = e.sequenceShard(e.linearDgrad(su, dSharedUp!))
        }
        let dGate = e.linearDgrad(gate, dScores)
        e.block = .dispatch
        let dRouted = e.dispatchBackward(dXs, route)
        e.pass = .backwardWeight
        e.block = .mlp
        e.groupedLinearWgrad(expertDown, act, dDown)
        e.groupedLinearWgrad(expertUp, t.xs, dUp)
        if let su = sharedUp, let sd = sharedDown, let a = sharedAct, let du = dSharedUp {
            e.linearWgrad(sd, a, dFull)
            e.linearWgrad(su, t.source, du)
        }
        e.linearWgrad(gate, t.input, dScores)
        e.pass = .backwardInput
        e.block = .attention
        var dx = e.add(dRouted, dGate)
        if let dShared { dx = e.add(dx, dShared) }
        return e.sequenceUnshard(dx, like: dFull)
    }
}
