import Stochastic

/// The synthetic gate when every expert's affinity has the same law and no bias: uniform
/// popularity and a zero balancing bias, the default of a simulated step (DeepSeek's profile
/// trace used "perfectly balanced simulated MoE routing"). Then a token's affinities are
/// independent uniforms (`TokenAffinities`: s = u when every c_e = 1), and the gate only ever looks
/// at the top few of each group, so those are drawn directly instead of all `experts` values.
///
/// The order statistics of n independent uniforms, largest first, are exactly
/// U₍₁₎ = V₁^(1/n), U₍ₖ₎ = U₍ₖ₋₁₎·Vₖ^(1/(n−k+1)) for independent uniforms Vₖ (Rényi's
/// representation; Devroye, *Non-Uniform Random Variate Generation*, 1986, ch. V), i.e. in logs
/// ln U₍ₖ₎ = ln U₍ₖ₋₁₎ − Eₖ/(n−k+1) with standard exponentials Eₖ. Which experts of the group hold
/// those ranks is a uniformly random arrangement, independent of the values. So per token:
/// 1. each group's top one or two (what the group score sums) — 2 draws per group instead of n;
/// 2. the node limit, as the real gate does it, on those scores;
/// 3. the top-K of the allowed groups by merging their descending sequences, drawing a group's
///    next order statistic only when the merge reaches it;
/// 4. the experts: the j-th pick in a group is a uniformly drawn expert of the group not picked
///    yet.
/// The choices have the same law as `SampledGate`'s full draw (a test compares their statistics),
/// not the same values: it is another random stream. Vectorised over eight tokens per lane group
/// for steps 1–3; step 4 is scalar.
public struct OrderStatisticGate: Sendable {
    public let config: RouterConfig
    let groupSize: Int

    /// nil when the shortcut does not apply: a non-uniform popularity, a non-zero bias, or a
    /// group score over more than two experts.
    public init?(router: Router, logPrior: [Double]) {
        let c = router.config
        guard router.seesExchangeableAffinities(logPrior: logPrior), c.expertsPerGroupScore <= 2 else { return nil }
        config = c
        groupSize = c.experts / c.groups
    }

    /// Routes `tokens` tokens drawn from `random`; without `gateWeights` only the choices.
    public func route(tokens: Int, random: inout LaneRandom, gateWeights: Bool = true) -> Routing {
        let c = config, n = groupSize, groups = c.groups, slots = c.topKGroups
        let scoreTwo = c.expertsPerGroupScore == 2
        var chosen = [Int32](repeating: 0, count: tokens * c.topK)
        var weights = [Double](repeating: 0, count: gateWeights ? tokens * c.topK : 0)
        var source = LaneWords(random: random)
        // Eight tokens per vector, in raw storage (see `scratch`): one block of float vectors
        // and one of integer vectors, cut into these.
        let floats = Self.scratch(SIMD8<Float>.zero, count: 3 * groups + 2 * slots + c.topK)
        let integers = Self.scratch(SIMD8<Int32>.zero, count: groups + 2 * slots + c.topK)
        defer { floats.deallocate(); integers.deallocate() }
        // Per group: ln of its top two, its score, its rank.
        let first = floats, second = floats + groups, score = floats + 2 * groups
        let rank = integers
        // Per allowed group (a slot, numbered by the group's rank): the group, the ln of its
        // current head and of its second value, how many of its order statistics were taken.
        let slotHead = floats + 3 * groups, slotSecond = slotHead + slots
        let slotGroup = integers + groups, slotTaken = slotGroup + slots
        // Per pick: the group and the ln of the value picked.
        let pickLog = slotSecond + slots, pickGroup = slotTaken + slots
        // Single lanes are read and written through untyped loads and stores (vector v, lane j
        // at byte 4·(8v + j)), which is defined whatever type the memory is bound to.
        let raw = UnsafeMutableRawPointer(floats)
        @inline(__always) func copyLane(_ lane: Int, from v: Int, to w: Int) {
            raw.storeBytes(of: raw.load(fromByteOffset: 4 * (8 * v + lane), as: Float.self), toByteOffset: 4 * (8 * w + lane), as: Float.self)
        }
        let inverseN = Float(1) / Float(n), inverseNMinus1 = n > 1 ? Float(1) / Float(n - 1) : 0
        let groupSizeLanes = SIMD8<Int32>(repeating: Int32(n)), one = SIMD8<Int32>(repeating: 1)
        let minusInfinity = SIMD8<Float>(repeating: -.infinity)
        chosen.withUnsafeMutableBufferPointer { chosen in
        for block in stride(from: 0, to: tokens, by: 8) {
            // 1. Each group's top one or two.
            for g in 0..<groups {
                first[g] = -source.random.nextExponential() * inverseN
                if scoreTwo {
                    second[g] = first[g] - source.random.nextExponential() * inverseNMinus1
                    score[g] = LaneMath.exp(first[g]) + LaneMath.exp(second[g])
                } else {
                    second[g] = minusInfinity
                    score[g] = first[g]   // ln is monotone: ranking by it ranks by the value
                }
            }
            // 2. The node limit: a group's rank is how many groups beat it (a higher score, or
            //    an equal one at a lower index); ranks below topKGroups are kept, and the rank
            //    numbers the slot.
            for g in 0..<groups {
                var beaten = SIMD8<Int32>(repeating: 0)
                for k in 0..<groups where k != g {
                    let beats = k < g ? score[k] .>= score[g] : score[k] .> score[g]
                    beaten &+= one.replacing(with: 0, where: .!beats)
                }
                rank[g] = beaten
            }
            for r in 0..<slots {
                let slot = SIMD8<Int32>(repeating: Int32(r))
                for g in 0..<groups { slotGroup[r].replace(with: Int32(g), where: rank[g] .== slot) }
                slotTaken[r] = .zero
                // Each lane's slot values, gathered from its group (scalar loads: blending all
                // groups' values into every slot cost 13 ms of the 69 ms gate, measured).
                for lane in 0..<8 {
                    let g = Int(slotGroup[r][lane])
                    copyLane(lane, from: g, to: 3 * groups + r)                      // first → slotHead
                    copyLane(lane, from: groups + g, to: 3 * groups + slots + r)     // second → slotSecond
                }
            }
            // 3. Merge the slots' descending sequences, all eight tokens in step: take the
            //    highest head, then replace it by its group's next order statistic (the second
            //    value already drawn, or a new draw, or −∞ once the group is exhausted).
            for k in 0..<c.topK {
                var best = SIMD8<Int32>(repeating: 0), value = slotHead[0]
                var group = slotGroup[0], taken = slotTaken[0], secondValue = slotSecond[0]
                for r in 1..<slots {
                    let higher = slotHead[r] .> value
                    best.replace(with: Int32(r), where: higher)
                    value.replace(with: slotHead[r], where: higher)
                    group.replace(with: slotGroup[r], where: higher)
                    taken.replace(with: slotTaken[r], where: higher)
                    secondValue.replace(with: slotSecond[r], where: higher)
                }
                pickGroup[k] = group
                pickLog[k] = value
                taken &+= one
                // Rank taken + 1 of n: ln U₍ₜ₊₁₎ = ln U₍ₜ₎ − E/(n − t).
                let remaining = groupSizeLanes &- taken
                var next = value - source.random.nextExponential() / LaneMath.float(remaining.replacing(with: one, where: remaining .< one))
                if scoreTwo { next.replace(with: secondValue, where: taken .== one) }
                next.replace(with: minusInfinity, where: remaining .== SIMD8<Int32>(repeating: 0))
                for r in 0..<slots {
                    let picked = best .== SIMD8<Int32>(repeating: Int32(r))
                    slotHead[r].replace(with: next, where: picked)
                    slotTaken[r].replace(with: taken, where: picked)
                }
            }
            // 4. The experts holding those ranks: uniform among the group's experts not picked
            //    yet for this token.
            for lane in 0..<Swift.min(8, tokens - block) {
                let row = (block + lane) * c.topK
                for k in 0..<c.topK {
                    let base = Int(pickGroup[k][lane]) * n
                    var e: Int32
                    repeat {
                        e = Int32(base + source.integer(below: n))
                    } while Self.contains(chosen.baseAddress! + row, count: k, e)
                    chosen[row + k] = e
                }
                if gateWeights {
                    var total = 0.0
                    for k in 0..<c.topK { total += Double(LaneMath.exp(pickLog[k])[lane]) }
                    for k in 0..<c.topK { weights[row + k] = Double(LaneMath.exp(pickLog[k])[lane]) / total * c.routedScalingFactor }
                }
            }
        }
        }
        random = source.random
        return Routing(tokens: tokens, topK: c.topK, experts: chosen, weights: weights)
    }

    /// Scratch vectors as raw storage: the loops above update them per token block, and as
    /// arrays their uniqueness and bounds checks made `llmsim route` 0.15 s instead of 0.13 s
    /// on one core (measured).
    static func scratch<V>(_ value: V, count: Int) -> UnsafeMutablePointer<V> {
        let p = UnsafeMutablePointer<V>.allocate(capacity: count)
        p.initialize(repeating: value, count: count)
        return p
    }

    @inline(__always)
    static func contains(_ list: UnsafeMutablePointer<Int32>, count: Int, _ e: Int32) -> Bool {
        for i in 0..<count where list[i] == e { return true }
        return false
    }
}
