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
    /// Gate weights of the chosen experts (normalised, scaled), same layout.
    public var weights: [Double]

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

    public init(config: RouterConfig) throws {
        try config.validate()
        self.config = config
        bias = [Double](repeating: 0, count: config.experts)
    }

    /// Routes `tokens` tokens whose sigmoid affinities are `scores` (`tokens × experts`).
    public func route(scores: [Double], tokens: Int) -> Routing {
        let c = config
        let groupSize = c.experts / c.groups
        var chosen = [Int32](repeating: 0, count: tokens * c.topK)
        var weights = [Double](repeating: 0, count: tokens * c.topK)
        var biased = [Double](repeating: 0, count: c.experts)
        var groupScore = [Double](repeating: 0, count: c.groups)
        var top = [Double](repeating: 0, count: c.expertsPerGroupScore)
        var allowed = [Bool](repeating: false, count: c.groups)
        var best = [(score: Double, expert: Int)](repeating: (0, 0), count: c.topK)
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
            // Keep the best `topKGroups` groups (ties: lower index).
            for g in 0..<c.groups { allowed[g] = false }
            for _ in 0..<c.topKGroups {
                var pick = -1
                for g in 0..<c.groups where !allowed[g] && (pick < 0 || groupScore[g] > groupScore[pick]) { pick = g }
                allowed[pick] = true
            }
            // Top-K experts by biased affinity inside the allowed groups (insertion into a sorted list).
            var filled = 0
            for g in 0..<c.groups where allowed[g] {
                for e in (g * groupSize)..<((g + 1) * groupSize) {
                    let v = biased[e]
                    if filled < c.topK || v > best[c.topK - 1].score {
                        var i = filled < c.topK ? filled : c.topK - 1
                        if filled < c.topK { filled += 1 }
                        while i > 0, best[i - 1].score < v { best[i] = best[i - 1]; i -= 1 }
                        best[i] = (v, e)
                    }
                }
            }
            // Gate weights from the unbiased affinities, normalised and scaled.
            var total = 0.0
            for i in 0..<c.topK { total += scores[row + best[i].expert] }
            for i in 0..<c.topK {
                chosen[t * c.topK + i] = Int32(best[i].expert)
                weights[t * c.topK + i] = total > 0 ? scores[row + best[i].expert] / total * c.routedScalingFactor : 0
            }
        }
        return Routing(tokens: tokens, topK: c.topK, experts: chosen, weights: weights)
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
