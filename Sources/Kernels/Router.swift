/// How an MoE gate turns affinities into expert choices (DeepSeek-V3 report §2.1.2, eq. 12–16).
public struct RouterConfig: Sendable, Codable, Equatable {
    public var experts: Int
    /// Routed experts per token (K_r).
    public var topK: Int
    /// Expert groups; with node-limited routing, one group per node.
    public var groups: Int
    /// Groups a token may use (M, the node limit).
    public var topKGroups: Int
    /// Experts per group summed to score a group (V3: the top K_r/M = 2).
    public var expertsPerGroupScore: Int
    /// Gate weights are normalised over the chosen experts and multiplied by this (V3: 2.5).
    public var routedScalingFactor: Double

    public init(experts: Int, topK: Int, groups: Int, topKGroups: Int, expertsPerGroupScore: Int = 2, routedScalingFactor: Double = 1) {
        self.experts = experts; self.topK = topK; self.groups = groups; self.topKGroups = topKGroups
        self.expertsPerGroupScore = expertsPerGroupScore; self.routedScalingFactor = routedScalingFactor
    }

    /// Group-limited routing: a token chooses among the experts of its `topKGroups` best groups
    /// (V3: 4 of 8), not among all.
    public var limitsGroups: Bool { topKGroups < groups }

    /// Top-k selections per token: the groups, then the experts of the kept groups, under
    /// group-limited routing; the experts alone otherwise.
    public var topKSelections: Int { limitsGroups ? 2 : 1 }

    /// DeepSeek-V3: 256 experts in 8 groups, top-4 groups, top-8 experts, scale 2.5.
    public static let deepSeekV3 = RouterConfig(experts: 256, topK: 8, groups: 8, topKGroups: 4, expertsPerGroupScore: 2, routedScalingFactor: 2.5)

    public func validate() throws {
        guard experts > 0, topK > 0, groups > 0, topKGroups > 0 else {
            throw KernelError("router", "experts, topK, groups and topKGroups must be > 0", fix: "check the model's MoE configuration")
        }
        guard experts % groups == 0 else { throw KernelError("groups", "\(experts) experts do not split into \(groups) groups", fix: "use a group count that divides the experts") }
        guard topKGroups <= groups else { throw KernelError("topKGroups", "\(topKGroups) exceeds \(groups) groups", fix: "at most the number of groups") }
        guard topK <= topKGroups * (experts / groups) else {
            throw KernelError("topK", "\(topK) experts cannot be found in \(topKGroups) groups of \(experts / groups)", fix: "raise topKGroups or lower topK")
        }
        guard expertsPerGroupScore >= 1, expertsPerGroupScore <= experts / groups else {
            throw KernelError("expertsPerGroupScore", "must be in 1…\(experts / groups)", fix: "V3 uses 2")
        }
    }
}

/// The experts chosen for a batch of tokens.
public struct Routing: Sendable {
    public let tokens: Int
    public let topK: Int
    /// Chosen experts, `tokens × topK`, row-major.
    public var experts: [Int32]
    /// Gate weights of the chosen experts (normalised, scaled), same layout; empty when the
    /// caller only needs the choices (the dispatch plan of a simulated step).
    public var weights: [Double]

    /// The same choices in a group whose experts are split over expert-TP GPUs
    /// (`ExpertPlacement.tensorParallel`): each chosen expert becomes its slices, one per GPU
    /// of the expert-TP group holding it, so top-K becomes top-(K × expert-TP) — Megatron-Core's
    /// DeepEP dispatcher over the TP × EP group (`router_topk × tp_size`). Gate weights are
    /// dropped (the plan does not need them). Itself at expert-TP 1.
    public func splittingExperts(over placement: ExpertPlacement) -> Routing {
        let t = placement.tensorParallel
        guard t > 1 else { return self }
        var split = [Int32]()
        split.reserveCapacity(experts.count * t)
        for e in experts { for j in 0..<t { split.append(Int32(placement.slice(j, ofRouterExpert: Int(e)))) } }
        return Routing(tokens: tokens, topK: topK * t, experts: split, weights: [])
    }

    /// Tokens routed to each expert.
    public func expertLoads(experts count: Int) -> [Int] {
        var loads = [Int](repeating: 0, count: count)
        for e in experts { loads[Int(e)] += 1 }
        return loads
    }
}

/// DeepSeek-V3's gate: sigmoid affinities s; a per-expert bias b added for *selection only*;
/// node-limited routing (keep the `topKGroups` groups with the highest sum of their top-2
/// s + b, then the top-K experts of s + b inside them); gate weights s normalised over the chosen
/// experts and scaled; and the auxiliary-loss-free bias update.
public struct Router: Sendable {
    public let config: RouterConfig
    /// The balancing bias b_e, one per expert.
    public var bias: [Double]

    /// Whether tokens drawn with these log-priors (`TokenAffinities`) reach the gate with
    /// exchangeable affinities: uniform popularity and no balancing bias. Then every expert's
    /// affinity has the same law, which the shortcut gates (`CompositionGate`,
    /// `OrderStatisticGate`) rely on.
    public func seesExchangeableAffinities(logPrior: [Double]) -> Bool {
        logPrior.count == config.experts && logPrior.allSatisfy { $0 == 0 } && bias.allSatisfy { $0 == 0 }
    }

    public init(config: RouterConfig) throws {
        try config.validate()
        self.config = config
        bias = [Double](repeating: 0, count: config.experts)
    }

    /// Routes `tokens` tokens whose sigmoid affinities are `scores` (`tokens × experts`, `Float`
    /// as the gate computes them, or `Double`). This is the reference form of the gate; the
    /// synthetic router (`SampledGate`) must choose exactly the same experts from the same scores.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func route<T: BinaryFloatingPoint>(scores: [T], tokens: Int) -> Routing {
        let c = config
        let groupSize = c.experts / c.groups
        var chosen = [Int32](repeating: 0, count: tokens * c.topK)
        var weights = [Double](repeating: 0, count: tokens * c.topK)
        var biased = [T](repeating: 0, count: c.experts)
        let bias = self.bias.map { T($0) }
        var groupScore = [T](repeating: 0, count: c.groups)
        var top = [T](repeating: 0, count: c.expertsPerGroupScore)
        var allowed = [Bool](repeating: false, count: c.groups)
        let best = TopKList<T>(capacity: c.topK)
        chosen.withUnsafeMutableBufferPointer { chosen in
        weights.withUnsafeMutableBufferPointer { weights in
        for t in 0..<tokens {
            let row = t * c.experts
            for e in 0..<c.experts { biased[e] = scores[row + e] + bias[e] }
            // Group score: sum of the top `expertsPerGroupScore` biased affinities in the group.
            for g in 0..<c.groups {
                for i in top.indices { top[i] = -.infinity }
                for e in (g * groupSize)..<((g + 1) * groupSize) {
                    let v = biased[e]
                    if v > top[top.count - 1] {
                        var i = top.count - 1
                        while i > 0, top[i - 1] < v { top[i] = top[i - 1]; i -= 1 }
                        top[i] = v
                    }
                }
                groupScore[g] = top.reduce(0, +)
            }
            Self.keepBestGroups(scores: groupScore, count: c.topKGroups, into: &allowed)
            // Top-K experts by biased affinity inside the allowed groups.
            best.removeAll()
            for g in 0..<c.groups where allowed[g] {
                for e in (g * groupSize)..<((g + 1) * groupSize) { best.offer(biased[e], expert: e) }
            }
            Self.writeChoice(best, scores: { scores[row + $0] }, scale: c.routedScalingFactor,
                             experts: chosen, weights: weights, at: t * c.topK)
        }
        }
        }
        return Routing(tokens: tokens, topK: c.topK, experts: chosen, weights: weights)
    }

    /// Marks the `count` groups with the highest scores (ties: the lower index).
    @inlinable
    static func keepBestGroups<T: Comparable>(scores: [T], count: Int, into allowed: inout [Bool]) {
        for g in allowed.indices { allowed[g] = false }
        for _ in 0..<count {
            var pick = -1
            for g in scores.indices where !allowed[g] && (pick < 0 || scores[g] > scores[pick]) { pick = g }
            allowed[pick] = true
        }
    }

    /// Writes a token's chosen experts and their gate weights: the unbiased affinities of the
    /// chosen experts, normalised over them (summed in `Double`, in choice order) and scaled.
    @inlinable
    static func writeChoice<T: BinaryFloatingPoint>(_ best: TopKList<T>, scores: (Int) -> T, scale: Double,
                                                    experts: UnsafeMutableBufferPointer<Int32>,
                                                    weights: UnsafeMutableBufferPointer<Double>, at offset: Int) {
        for i in 0..<best.count { experts[offset + i] = Int32(best.experts[i]) }
        guard weights.count > 0 else { return }
        var total = 0.0
        for i in 0..<best.count { total += Double(scores(best.experts[i])) }
        for i in 0..<best.count { weights[offset + i] = total > 0 ? Double(scores(best.experts[i])) / total * scale : 0 }
    }

    /// The auxiliary-loss-free update (V3 report §2.1.2): after a step, lower the bias of each
    /// overloaded expert by γ and raise that of each underloaded one by γ.
    public mutating func updateBias(loads: [Int], gamma: Double) {
        let mean = Double(loads.reduce(0, +)) / Double(loads.count)
        for e in bias.indices {
            let load = Double(loads[e])
            if load > mean { bias[e] -= gamma } else if load < mean { bias[e] += gamma }
        }
    }
}

/// The K best (value, expert) pairs offered so far, best first, where a pair is better when its
/// value is larger or, at equal values, its expert index is lower. That total order makes the
/// result independent of the order in which pairs are offered, so the reference gate (which
/// scans experts in order) and the synthetic router (which offers only candidates) agree exactly.
/// A scratch object reused for every token (fixed storage: no copy-on-write checks in the
/// router's inner loop).
@usableFromInline
final class TopKList<T: Comparable> {
    @usableFromInline let values: UnsafeMutablePointer<T>
    @usableFromInline let experts: UnsafeMutablePointer<Int>
    @usableFromInline var count = 0
    @usableFromInline let capacity: Int

    @inlinable init(capacity: Int) {
        self.capacity = capacity
        values = .allocate(capacity: capacity)
        experts = .allocate(capacity: capacity)
    }

    deinit { values.deallocate(); experts.deallocate() }

    @inlinable func removeAll() { count = 0 }

    @inlinable @inline(__always)
    static func better(_ v: T, _ e: Int, than w: T, _ f: Int) -> Bool { v > w || (v == w && e < f) }

    @inlinable @inline(__always)
    func offer(_ v: T, expert e: Int) {
        var i: Int
        if count < capacity {
            i = count; count += 1
        } else if Self.better(v, e, than: values[capacity - 1], experts[capacity - 1]) {
            i = capacity - 1
        } else {
            return
        }
        while i > 0, Self.better(v, e, than: values[i - 1], experts[i - 1]) {
            values[i] = values[i - 1]; experts[i] = experts[i - 1]; i -= 1
        }
        values[i] = v; experts[i] = e
    }
}
