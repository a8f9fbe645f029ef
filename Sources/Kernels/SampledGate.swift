import Foundation
import Stochastic

/// DeepSeek-V3's gate fed with synthetic affinities drawn in the same pass (the synthetic router
/// of `llmsim route` and of every simulated step).
///
/// Affinities follow `TokenAffinities`' logit-choice model, s = u / (u + c_e·(1 − u)) for a
/// uniform u, drawn eight at a time by a `LaneRandom`. Lane j of draw i is expert j·(E/8) + i,
/// so with eight expert groups (V3: one per node) each lane *is* a group: the top-2 per group,
/// the group scores and the affinities are all computed lane-wise, with no per-token reduction.
/// Node-limited selection and the top-K then read the token's 256 values from L1. Groups that
/// split the eight lanes evenly (1, 2, 4, 8) take this path; any other layout materialises the
/// same draws and goes through the reference `Router.route` (so both give the same choices,
/// which a test checks on the fast path). With uniform popularity and a zero bias, `route`
/// hands over to a shortcut with the same law (another stream) unless built with
/// `shortcuts: false`: `CompositionGate`, which draws no affinity at all, when only the
/// choices are wanted, and `OrderStatisticGate`, which draws only the values the gate reads,
/// when the gate weights are too.
public struct SampledGate: Sendable {
    /// The gate: its configuration and the bias it had when this was built.
    public let router: Router
    public var config: RouterConfig { router.config }
    /// Draws per token: experts / 8, rounded up.
    let rows: Int
    /// c_e in lane layout (`rows` vectors; lane j of vector i is expert j·rows + i).
    let costs: [SIMD8<Float>]
    /// The router's bias b_e in the same layout.
    let bias: [SIMD8<Float>]
    /// Every c_e is 1 (uniform popularity): then s = u exactly and the division is skipped.
    let unitCosts: Bool
    /// The shortcuts for exchangeable affinities (uniform popularity, zero bias), when allowed.
    let orderStatistics: OrderStatisticGate?
    let composition: CompositionGate?

    /// - Parameters:
    ///   - router: the gate (its configuration and current bias).
    ///   - logPrior: ln(E·p_e) per expert, from `TokenAffinities`.
    ///   - shortcuts: route exchangeable affinities through `CompositionGate` or
    ///     `OrderStatisticGate` (same law, far fewer draws); false draws every affinity.
    ///   - compositionLaw: the router's `GateCompositionLaw`, when the caller keeps one.
    public init(router: Router, logPrior: [Double], shortcuts: Bool = true, compositionLaw: GateCompositionLaw? = nil) throws {
        let c = router.config
        guard logPrior.count == c.experts else {
            throw KernelError("popularity", "\(logPrior.count) values for \(c.experts) experts", fix: "give one popularity per expert")
        }
        self.router = router
        rows = (c.experts + 7) / 8
        var cost = [SIMD8<Float>](repeating: .init(repeating: 1), count: rows)
        var b = [SIMD8<Float>](repeating: .init(repeating: 0), count: rows)
        for e in 0..<c.experts {
            cost[e % rows][e / rows] = Float(exp(-logPrior[e]))
            b[e % rows][e / rows] = Float(router.bias[e])
        }
        costs = cost
        bias = b
        unitCosts = cost.allSatisfy { $0 == SIMD8(repeating: 1) }
        orderStatistics = shortcuts ? OrderStatisticGate(router: router, logPrior: logPrior) : nil
        composition = shortcuts ? CompositionGate(router: router, logPrior: logPrior, law: compositionLaw) : nil
    }

    /// Whether the lane-wise path applies: experts fill the lanes exactly, each group is a whole
    /// number of lanes, and a group is scored by at most its top 2.
    var lanesAreGroups: Bool {
        let c = config
        return c.experts % 8 == 0 && 8 % c.groups == 0 && c.expertsPerGroupScore <= 2
    }

    /// One draw of eight affinities (row `i` of a token).
    @inline(__always)
    func affinityRow(_ i: Int, random: inout LaneRandom) -> SIMD8<Float> {
        let u = random.nextUniformPositive()
        return unitCosts ? u : u / (u + costs[i] * (1 - u))
    }

    /// The affinities of `tokens` tokens, `tokens × experts` in expert order: the values `route`
    /// sees from the same generator state.
    public func affinities(tokens: Int, random: inout LaneRandom) -> [Float] {
        let e = config.experts
        var out = [Float](repeating: 0, count: tokens * e)
        for t in 0..<tokens {
            for i in 0..<rows {
                let s = affinityRow(i, random: &random)
                for j in 0..<8 where j * rows + i < e { out[t * e + j * rows + i] = s[j] }
            }
        }
        return out
    }

    /// Draws `tokens` tokens' affinities and routes them; without `gateWeights` the routing
    /// carries only the choices (what a dispatch plan needs).
    public func route(tokens: Int, random: inout LaneRandom, gateWeights: Bool = true) -> Routing {
        if !gateWeights, let composition { return composition.route(tokens: tokens, random: &random) }
        if let orderStatistics { return orderStatistics.route(tokens: tokens, random: &random, gateWeights: gateWeights) }
        guard lanesAreGroups else {
            var routing = router.route(scores: affinities(tokens: tokens, random: &random), tokens: tokens)
            if !gateWeights { routing.weights = [] }
            return routing
        }
        let c = config, rows = rows
        let lanesPerGroup = 8 / c.groups
        let limitGroups = c.limitsGroups
        var chosen = [Int32](repeating: 0, count: tokens * c.topK)
        var weights = [Double](repeating: 0, count: gateWeights ? tokens * c.topK : 0)
        let s = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: rows)
        let biased = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: rows)
        defer { s.deallocate(); biased.deallocate() }
        var groupScore = [Float](repeating: 0, count: c.groups)
        var allowed = [Bool](repeating: true, count: c.groups)
        var laneBest = [Float](repeating: 0, count: 16)
        let best = TopKList<Float>(capacity: c.topK)
        let minusInfinity = SIMD8<Float>(repeating: -.infinity)
        let lane = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        let laneBits = SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)
        chosen.withUnsafeMutableBufferPointer { chosen in
        weights.withUnsafeMutableBufferPointer { weights in
        for t in 0..<tokens {
            var m1 = minusInfinity, m2 = minusInfinity
            for i in 0..<rows {
                let a = affinityRow(i, random: &random)
                let v = a + bias[i]
                s[i] = a
                biased[i] = v
                // Lane-wise top-2: v displaces m1 (which moves to m2) or m2.
                let aboveFirst = v .> m1
                m2 = m2.replacing(with: v, where: v .> m2).replacing(with: m1, where: aboveFirst)
                m1 = m1.replacing(with: v, where: aboveFirst)
            }
            var allowedMask = SIMDMask<SIMD8<Int32>>(repeating: true)
            if limitGroups && lanesPerGroup == 1 {
                // One lane per group (V3): a lane is kept when fewer than topKGroups lanes beat
                // it (higher score, or equal score and lower index).
                let score = c.expertsPerGroupScore == 1 ? m1 : m1 + m2
                var beaten = SIMD8<Int32>(repeating: 0)
                for k in 0..<8 {
                    let other = SIMD8<Float>(repeating: score[k])
                    let beats = (other .> score) .| ((other .== score) .& (SIMD8<Int32>(repeating: Int32(k)) .< lane))
                    beaten &+= SIMD8<Int32>(repeating: 1).replacing(with: 0, where: .!beats)
                }
                allowedMask = beaten .< SIMD8<Int32>(repeating: Int32(c.topKGroups))
            } else if limitGroups {
                for g in 0..<c.groups {
                    // Top-2 of the group's lanes.
                    var first = m1[g * lanesPerGroup], second = m2[g * lanesPerGroup]
                    for j in (g * lanesPerGroup + 1)..<((g + 1) * lanesPerGroup) {
                        let (a, b) = (m1[j], m2[j])
                        if a > first { second = Swift.max(first, b); first = a } else { second = Swift.max(second, a) }
                    }
                    groupScore[g] = c.expertsPerGroupScore == 1 ? first : first + second
                }
                Router.keepBestGroups(scores: groupScore, count: c.topKGroups, into: &allowed)
                for j in 0..<8 { allowedMask[j] = allowed[j / lanesPerGroup] }
            }
            // Candidates: at least K values of the allowed lanes are among their lanes' top-2s,
            // so the K-th largest of those top-2s bounds the top-K from below; only values at or
            // above it are offered (ties at the bound included, so the choice is exact).
            let allowedCount = (0..<8).reduce(0) { $0 + (allowedMask[$1] ? 1 : 0) }
            var bar: Float = -.infinity
            if 2 * allowedCount == c.topK {
                // Exactly K top-2 values (V3: 4 groups × 2 = 8): the bound is their minimum,
                // taken lane-wise; sorting instead costs 15% of `llmsim route`.
                let kept = m2.replacing(with: .infinity, where: .!allowedMask)
                bar = kept[0]
                for j in 1..<8 { bar = Swift.min(bar, kept[j]) }
            } else if 2 * allowedCount > c.topK {
                var pairs = 0
                for j in 0..<8 where allowedMask[j] { laneBest[pairs] = m1[j]; laneBest[pairs + 1] = m2[j]; pairs += 2 }
                laneBest[0..<pairs].sort(by: >)
                bar = laneBest[c.topK - 1]
            }
            let barLanes = SIMD8<Float>(repeating: bar)
            best.removeAll()
            for i in 0..<rows {
                let v = biased[i]
                var hits = laneBits.replacing(with: 0, where: .!((v .>= barLanes) .& allowedMask)).wrappedSum()
                while hits != 0 {
                    let j = hits.trailingZeroBitCount
                    best.offer(v[j], expert: j * rows + i)
                    hits &= hits - 1
                }
            }
            Router.writeChoice(best, scores: { s[$0 % rows][$0 / rows] }, scale: c.routedScalingFactor,
                               experts: chosen, weights: weights, at: t * c.topK)
        }
        }
        }
        return Routing(tokens: tokens, topK: c.topK, experts: chosen, weights: weights)
    }
}
