/// What the cost executor needs to know about one MoE layer's routing: the rows of each local
/// expert on the GPU it models, and the all-to-all traffic. Built from a real `DispatchPlan`
/// (routed sampled tokens), for the busiest GPU, because the all-to-all and the grouped GEMM
/// wait for the slowest member of the EP group.
public struct MoETraffic: Sendable, Equatable {
    /// Token-rows of each local expert on the modelled GPU.
    public var localExpertRows: [Int]
    /// Traffic of one dispatch (in its `DispatchFormat`) and one combine (BF16).
    public var dispatch: OperationRecord.Traffic
    public var combine: OperationRecord.Traffic
    /// What the dispatch carries: FP8 tokens, cast before they leave (so the experts' GEMMs
    /// take them as they arrive), or the BF16 hidden states.
    public var dispatchFormat: DispatchFormat

    public init(localExpertRows: [Int], dispatch: OperationRecord.Traffic, combine: OperationRecord.Traffic, dispatchFormat: DispatchFormat) {
        self.localExpertRows = localExpertRows; self.dispatch = dispatch; self.combine = combine; self.dispatchFormat = dispatchFormat
    }

    /// From a dispatch plan: the GPU with the most routed rows is modelled; IB and NVLink bytes
    /// are the busiest sender's (`DispatchPlan.portCopyPhases`), dispatched in `format` by
    /// `dispatcher`.
    public init(plan: DispatchPlan, hidden: Int, format: DispatchFormat, dispatcher: MoEDispatcher = .deepep) {
        let loads = plan.gpuLoads
        let busiest = loads.indices.max { loads[$0] < loads[$1] } ?? 0
        let p = plan.placement, per = p.expertsPerGPU
        localExpertRows = Array(plan.expertLoads[(busiest * per)..<((busiest + 1) * per)])
        // The busiest sender's NIC and NVLink copies over every phase; the logical traffic of a
        // GPU: the copies delivered (DeepEP, Hybrid-EP), or the all-to-all's rows.
        let phases = plan.portCopyPhases(dispatcher)
        func mostSent(_ port: ((nic: [[Int]], nvlink: [[Int]])) -> [[Int]]) -> Double {
            Double((0..<p.ep).map { g in phases.reduce(0) { $0 + port($1)[g].reduce(0, +) } }.max() ?? 0)
        }
        let ib = mostSent { $0.nic }, nv = mostSent { $0.nvlink }
        let delivered = dispatcher.deduplicatesPerGPU ? plan.logicalCopies : plan.expertRows
        let logical = Double(delivered.map { $0.reduce(0, +) }.reduce(0, +)) / Double(p.ep)
        func traffic(_ bytes: Int) -> OperationRecord.Traffic {
            .init(scaleOutBytes: ib * Double(bytes), scaleUpBytes: nv * Double(bytes), logicalBytes: logical * Double(bytes), groupSize: plan.placement.ep)
        }
        dispatch = traffic(TokenCopyBytes.dispatch(hidden: hidden, format: format))
        combine = traffic(TokenCopyBytes.combine(hidden: hidden))
        dispatchFormat = format
    }

    /// The same routing for `factor` times as many tokens (rows and bytes scale linearly; the
    /// imbalance of the sample is kept, which slightly overstates it for larger batches).
    public func scaled(by factor: Int) -> MoETraffic {
        func t(_ x: OperationRecord.Traffic) -> OperationRecord.Traffic {
            .init(scaleOutBytes: x.scaleOutBytes * Double(factor), scaleUpBytes: x.scaleUpBytes * Double(factor),
                  logicalBytes: x.logicalBytes * Double(factor), groupSize: x.groupSize)
        }
        return MoETraffic(localExpertRows: localExpertRows.map { $0 * factor }, dispatch: t(dispatch), combine: t(combine), dispatchFormat: dispatchFormat)
    }

    /// All experts on one GPU, no communication (EP = 1): rows split as routed, the tokens
    /// permuted in `dispatchFormat`.
    public static func local(expertRows: [Int], dispatchFormat: DispatchFormat = .bf16) -> MoETraffic {
        let none = OperationRecord.Traffic(scaleOutBytes: 0, scaleUpBytes: 0, logicalBytes: 0, groupSize: 1)
        return MoETraffic(localExpertRows: expertRows, dispatch: none, combine: none, dispatchFormat: dispatchFormat)
    }
}

/// FLOP formulas shared by both executors, so "what was computed" and "what is recorded" are
/// defined once.
public enum FLOPCount {
    public static func gemm(m: Int, n: Int, k: Int) -> Double { 2 * Double(m) * Double(n) * Double(k) }

    /// Query–key pairs of causal attention of `q` queries that are the last `q` of `k` keys:
    /// q·(k − q) + q(q+1)/2 (k = q: the whole sequence, t(t+1)/2). With a sliding `window` each
    /// query sees at most the last `window` keys, its own included: the query at position p
    /// (0-based) sees min(p + 1, window).
    public static func causalPairs(_ q: Int, keys k: Int? = nil, window: Int? = nil) -> Double {
        let k = k ?? q
        guard let w = window, w < k else { return Double(q) * Double(k - q) + Double(q) * Double(q + 1) / 2 }
        // The first query sees k − q + 1 keys; those seeing fewer than w grow one by one.
        let first = k - q + 1
        guard first < w else { return Double(q) * Double(w) }
        let growing = w - first
        return Double(first + w - 1) * Double(growing) / 2 + Double(q - growing) * Double(w)
    }

    /// Query–key pairs of `q` queries over `k` keys: causal (`causalPairs`) or every pair (at
    /// most `window` per query).
    public static func pairs(_ q: Int, keys k: Int? = nil, causal: Bool, window: Int? = nil) -> Double {
        causal ? causalPairs(q, keys: k, window: window) : Double(q) * Double(min(k ?? q, window ?? Int.max))
    }

    /// MMA FLOPs per score (one query–key pair of one head) of a fused attention pass as it
    /// runs: forward S = QKᵀ (qk) and O = PV (v), 2·(qk + v); backward as FlashAttention runs
    /// it, S recomputed (qk), dV = PᵀdO (v), dP = dO·Vᵀ (v), dQ = dS·K (qk), dK = dSᵀ·Q (qk),
    /// 2·(3·qk + 2·v).
    public static func attentionFLOPsPerScore(qk: Int, v: Int, backward: Bool) -> Double {
        2 * Double(backward ? 3 * qk + 2 * v : qk + v)
    }

    /// Forward over the (causal, windowed) pairs.
    public static func attentionForward(tokens t: Int, keys: Int? = nil, heads: Int, qk: Int, v: Int, causal: Bool = true, window: Int? = nil) -> Double {
        pairs(t, keys: keys, causal: causal, window: window) * Double(heads) * attentionFLOPsPerScore(qk: qk, v: v, backward: false)
    }

    /// Backward: as executed (`attentionFLOPsPerScore`), and as the model counts it (no
    /// recomputed S: 2·(2·qk + 2·v) per score).
    public static func attentionBackward(tokens t: Int, keys: Int? = nil, heads: Int, qk: Int, v: Int, causal: Bool = true,
                                         window: Int? = nil) -> (executed: Double, model: Double) {
        let scores = pairs(t, keys: keys, causal: causal, window: window) * Double(heads)
        return (scores * attentionFLOPsPerScore(qk: qk, v: v, backward: true), scores * 2 * Double(2 * qk + 2 * v))
    }
}
