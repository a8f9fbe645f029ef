import Foundation

extension NumericExecutor {
    /// Causal attention, per head, computing only the unmasked pairs: t(t+1)/2, or under a
    /// sliding `window` the last `window` keys of each query.
    public mutating func attention(_ q: DenseTensor, _ k: DenseTensor, _ v: DenseTensor, heads: Int, kvHeads: Int, window: Int?) -> DenseTensor {
        let qk = q.cols / heads, vd = v.cols / kvHeads, t = q.rows, group = heads / kvHeads
        var o = DenseTensor(zeros: t, heads * vd)
        for h in 0..<heads {
            let g = h / group
            for i in 0..<t {
                let keys = Self.visibleKeys(row: i, window: window)
                let p = probabilities(q, k, head: h, kvHead: g, qk: qk, row: i, keys: keys)
                for (n, j) in keys.enumerated() { for c in 0..<vd { o[i, h * vd + c] += p[n] * v[j, g * vd + c] } }
            }
        }
        tally("attention.fwd", FLOPCount.attentionForward(tokens: t, heads: heads, qk: qk, v: vd, window: window))
        return o
    }

    /// The keys query `i` attends to: 0…i, or its last `window` of them.
    static func visibleKeys(row i: Int, window: Int?) -> ClosedRange<Int> { max(0, i - (window ?? (i + 1)) + 1)...i }

    func probabilities(_ q: DenseTensor, _ k: DenseTensor, head h: Int, kvHead g: Int, qk: Int, row i: Int, keys: ClosedRange<Int>) -> [Double] {
        let scale = 1 / Double(qk).squareRoot()
        var s = keys.map { j -> Double in
            var d = 0.0
            for c in 0..<qk { d += q[i, h * qk + c] * k[j, g * qk + c] }
            return d * scale
        }
        let m = s.max() ?? 0
        s = s.map { exp($0 - m) }
        let total = s.reduce(0, +)
        return s.map { $0 / total }
    }

    /// FlashAttention-style backward: recompute P, then dV = PᵀdO, dP = dO·Vᵀ,
    /// dS = P∘(dP − rowsum(dO∘O)), dQ = dS·K, dK = dSᵀ·Q.
    public mutating func attentionBackward(_ q: DenseTensor, _ k: DenseTensor, _ v: DenseTensor, _ dO: DenseTensor, heads: Int, kvHeads: Int,
                                           window: Int?) -> (dq: DenseTensor, dk: DenseTensor, dv: DenseTensor) {
        let qk = q.cols / heads, vd = v.cols / kvHeads, t = q.rows, group = heads / kvHeads
        let scale = 1 / Double(qk).squareRoot()
        var dq = DenseTensor(zeros: t, q.cols), dk = DenseTensor(zeros: t, k.cols), dv = DenseTensor(zeros: t, v.cols)
        for h in 0..<heads {
            let g = h / group
            for i in 0..<t {
                let keys = Self.visibleKeys(row: i, window: window)
                let p = probabilities(q, k, head: h, kvHead: g, qk: qk, row: i, keys: keys)
                var dp = [Double](repeating: 0, count: keys.count)
                for (n, j) in keys.enumerated() {
                    for c in 0..<vd {
                        dv[j, g * vd + c] += p[n] * dO[i, h * vd + c]
                        dp[n] += dO[i, h * vd + c] * v[j, g * vd + c]
                    }
                }
                let rowDot = dp.indices.reduce(0.0) { $0 + p[$1] * dp[$1] }
                for (n, j) in keys.enumerated() {
                    let ds = p[n] * (dp[n] - rowDot) * scale
                    for c in 0..<qk {
                        dq[i, h * qk + c] += ds * k[j, g * qk + c]
                        dk[j, g * qk + c] += ds * q[i, h * qk + c]
                    }
                }
            }
        }
        tally("attention.bwd", FLOPCount.attentionBackward(tokens: t, heads: heads, qk: qk, v: vd, window: window).executed)
        return (dq, dk, dv)
    }

    /// The selections themselves run in `route` (the router's own group-limited top-k).
    public mutating func gateScores(_ w: Weight, _ x: DenseTensor, topKPasses: Int) -> DenseTensor {
        var s = linear(w, x)
        s.values = s.values.map { 1 / (1 + exp(-$0)) }
        return s
    }

    /// Values stay exact: the numeric executor does not quantize.
    public mutating func quantizeForDispatch(_ x: DenseTensor, _ r: Route) {}

    public mutating func route(_ scores: DenseTensor) -> Route {
        let routing = router.route(scores: scores.values, tokens: scores.rows)
        var members = [[(token: Int, slot: Int)]](repeating: [], count: router.config.experts)
        for t in 0..<routing.tokens { for i in 0..<routing.topK { members[Int(routing.experts[t * routing.topK + i])].append((t, i)) } }
        return Route(routing: routing, members: members)
    }

    public mutating func dispatch(_ x: DenseTensor, _ r: Route) -> [DenseTensor] {
        r.members.map { m in
            var y = DenseTensor(zeros: m.count, x.cols)
            for (row, member) in m.enumerated() { for c in 0..<x.cols { y[row, c] = x[member.token, c] } }
            return y
        }
    }

    public mutating func combine(_ ys: [DenseTensor], _ r: Route) -> DenseTensor {
        let cols = ys.first?.cols ?? 0
        var out = DenseTensor(zeros: r.routing.tokens, cols)
        for (e, m) in r.members.enumerated() {
            for (row, member) in m.enumerated() { for c in 0..<cols { out[member.token, c] += ys[e][row, c] } }
        }
        return out
    }

    public mutating func combineBackward(_ dy: DenseTensor, _ r: Route) -> [DenseTensor] {
        r.members.map { m in
            var g = DenseTensor(zeros: m.count, dy.cols)
            for (row, member) in m.enumerated() { for c in 0..<dy.cols { g[row, c] = dy[member.token, c] } }
            return g
        }
    }

    /// The gate weight of expert `e`'s row `row`.
    func weight(_ r: Route, expert e: Int, row: Int) -> Double {
        let member = r.members[e][row]
        return r.routing.weights[member.token * r.routing.topK + member.slot]
    }

    public mutating func weightedSwiglu(_ ups: [DenseTensor], _ r: Route) -> [DenseTensor] {
        ups.enumerated().map { e, u in
            var h = swiglu(u)
            for row in 0..<h.rows {
                let w = weight(r, expert: e, row: row)
                for c in 0..<h.cols { h[row, c] *= w }
            }
            return h
        }
    }

    /// ∂L/∂s for the chosen experts: ⟨dH, SwiGLU(u)⟩ of the row (equal to ⟨dy_t, y_e,t⟩ for the
    /// unweighted expert output) times the gate's weight (the coupling through the
    /// normalisation is left out: a first-order gradient).
    public mutating func weightedSwigluBackward(_ ups: [DenseTensor], _ dHs: [DenseTensor], _ r: Route) -> (hs: [DenseTensor], dUps: [DenseTensor], dScores: DenseTensor) {
        var scores = DenseTensor(zeros: r.routing.tokens, r.members.count)
        var hs: [DenseTensor] = [], dUps: [DenseTensor] = []
        for (e, u) in ups.enumerated() {
            let act = swiglu(u)
            var h = act, dAct = dHs[e]
            for row in 0..<act.rows {
                let w = weight(r, expert: e, row: row)
                var d = 0.0
                for c in 0..<act.cols {
                    d += dHs[e][row, c] * act[row, c]
                    h[row, c] *= w
                    dAct[row, c] *= w
                }
                scores[r.members[e][row].token, e] = d * w
            }
            hs.append(h)
            dUps.append(swigluBackward(u, dAct))
        }
        return (hs, dUps, scores)
    }

    public mutating func dispatchBackward(_ dxs: [DenseTensor], _ r: Route) -> DenseTensor {
        let cols = dxs.first?.cols ?? 0
        var out = DenseTensor(zeros: r.routing.tokens, cols)
        for (e, m) in r.members.enumerated() {
            for (row, member) in m.enumerated() { for c in 0..<cols { out[member.token, c] += dxs[e][row, c] } }
        }
        return out
    }
}
