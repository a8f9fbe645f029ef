import Foundation
import Testing
@testable import Kernels
import Stochastic

/// How a batch of routed tokens spread their picks: per token, the picks per group as a sorted
/// partition ("3+2+2+1"), how often each group holds a pick, and the expert loads.
struct ChoiceStatistics {
    var spread: [String: Double] = [:]
    var groupUsed: [Double]
    var loads: [Int]
    let tokens: Int

    init(_ r: Routing, config: RouterConfig) {
        let n = config.experts / config.groups
        tokens = r.tokens
        groupUsed = [Double](repeating: 0, count: config.groups)
        for t in 0..<r.tokens {
            let picks = r.experts[(t * config.topK)..<((t + 1) * config.topK)].map(Int.init)
            #expect(Set(picks).count == config.topK, "token \(t) picks an expert twice: \(picks)")
            var perGroup = [Int](repeating: 0, count: config.groups)
            for e in picks { perGroup[e / n] += 1 }
            spread[Self.key(perGroup.filter { $0 > 0 }.sorted(by: >)), default: 0] += 1 / Double(r.tokens)
            for g in 0..<config.groups where perGroup[g] > 0 { groupUsed[g] += 1 / Double(r.tokens) }
        }
        loads = r.expertLoads(experts: config.experts)
    }

    static func key(_ parts: [Int]) -> String { parts.map(String.init).joined(separator: "+") }

    /// Two frequencies over `tokens` draws each agree within 5 standard errors of their difference.
    static func close(_ p: Double, _ q: Double, tokens: Int) -> Bool {
        let mean = (p + q) / 2
        return abs(p - q) <= 5 * (2 * mean * (1 - mean) / Double(tokens)).squareRoot() + 1e-9
    }

    /// These statistics and `other`'s (the full draw's) agree: every partition's and every
    /// group's frequency within 5 standard errors of their difference, and every expert's load
    /// here within 6σ of the mean (binomial).
    func expectSameLaw(as other: ChoiceStatistics, topK: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        for key in Set(spread.keys).union(other.spread.keys) {
            let p = spread[key] ?? 0, q = other.spread[key] ?? 0
            #expect(Self.close(p, q, tokens: tokens), "spread \(key): \(p) vs \(q)", sourceLocation: sourceLocation)
        }
        for g in groupUsed.indices {
            #expect(Self.close(groupUsed[g], other.groupUsed[g], tokens: tokens), "group \(g)", sourceLocation: sourceLocation)
        }
        let mean = Double(tokens * topK) / Double(loads.count)
        #expect(loads.allSatisfy { abs(Double($0) - mean) < 6 * mean.squareRoot() }, sourceLocation: sourceLocation)
    }

    /// A frequency over `tokens` draws agrees with a probability within 5 standard errors.
    static func matches(_ frequency: Double, _ p: Double, tokens: Int) -> Bool {
        abs(frequency - p) <= 5 * (p * (1 - p) / Double(tokens)).squareRoot() + 1e-9
    }
}

@Suite struct GateCompositionLawTests {
    let layouts = [
        RouterConfig.deepSeekV3,
        RouterConfig(experts: 160, topK: 6, groups: 8, topKGroups: 3, expertsPerGroupScore: 2),
        RouterConfig(experts: 64, topK: 6, groups: 16, topKGroups: 4, expertsPerGroupScore: 2),
        RouterConfig(experts: 6, topK: 2, groups: 3, topKGroups: 2, expertsPerGroupScore: 2),
    ]

    /// Every partition's probability comes out of its own integral; that they sum to 1 checks the
    /// formula and the quadrature together.
    @Test func probabilitiesSumToOne() throws {
        for c in layouts {
            let law = try #require(GateCompositionLaw(config: c))
            #expect(law.normalisationError < 1e-12, "\(c): \(law.normalisationError)")
            #expect(law.probabilities.allSatisfy { $0 > 0 })
            #expect(law.partitions.allSatisfy { $0.reduce(0, +) == c.topK && $0.count <= c.topKGroups })
        }
        // V3: the 15 partitions of 8 into at most 4 parts.
        #expect(try #require(GateCompositionLaw(config: .deepSeekV3)).partitions.count == 15)
    }

    /// The integrated law against frequencies of the full draw (every affinity drawn and put
    /// through the gate): V3 on 65,536 tokens, and the 3-group layout, whose two outcomes
    /// ("2" and "1+1") the full draw measures to ±0.001 on 200,000 tokens.
    @Test(arguments: [(RouterConfig.deepSeekV3, 65_536), (RouterConfig(experts: 6, topK: 2, groups: 3, topKGroups: 2), 200_000)])
    func lawMatchesTheFullDraw(config: RouterConfig, tokens: Int) throws {
        let law = try #require(GateCompositionLaw(config: config))
        let gate = try SampledGate(router: try Router(config: config), logPrior: [Double](repeating: 0, count: config.experts), shortcuts: false)
        var random = LaneRandom(seed: 5)
        let full = ChoiceStatistics(gate.route(tokens: tokens, random: &random, gateWeights: false), config: config)
        for (parts, p) in zip(law.partitions, law.probabilities) {
            let key = ChoiceStatistics.key(parts)
            #expect(ChoiceStatistics.matches(full.spread[key] ?? 0, p, tokens: tokens), "\(key): law \(p), full draw \(full.spread[key] ?? 0)")
        }
        #expect(Set(full.spread.keys).isSubset(of: law.partitions.map(ChoiceStatistics.key)))
    }

    /// V3's law as a second implementation computes it (`docs/checks/gate_composition_law.py`:
    /// the same integral with Gauss–Legendre quadrature over b in place of the closed forms, 8
    /// points per panel, and a Monte Carlo of the gate beside it): the two agree to 10⁻⁹.
    @Test func v3LawAgreesWithAnIndependentQuadrature() throws {
        let law = try #require(GateCompositionLaw(config: .deepSeekV3))
        let p = Dictionary(uniqueKeysWithValues: zip(law.partitions.map(ChoiceStatistics.key), law.probabilities))
        #expect(abs(p["3+2+2+1"]! - 0.5461279833) < 1e-9)
        #expect(abs(p["2+2+2+2"]! - 0.1831398420) < 1e-9)
        #expect(abs(p["4+2+1+1"]! - 0.1270278930) < 1e-9)
        #expect(abs(p["8"]! - 3.858787e-7) < 1e-12)
    }

    /// Layouts the law does not integrate: a top-1 group score, and no node limit.
    @Test func otherLayoutsAreNotIntegrated() {
        #expect(GateCompositionLaw(config: RouterConfig(experts: 160, topK: 6, groups: 8, topKGroups: 3, expertsPerGroupScore: 1)) == nil)
        #expect(GateCompositionLaw(config: RouterConfig(experts: 256, topK: 8, groups: 8, topKGroups: 8)) == nil)
    }

    /// `CompositionGate`'s choices have the full draw's law: how the picks spread over groups,
    /// how often each group is used, and every expert equally loaded; with a node limit (V3, a
    /// 16-group layout) and without one (then K distinct experts of all).
    @Test(arguments: [
        RouterConfig.deepSeekV3,
        RouterConfig(experts: 64, topK: 6, groups: 16, topKGroups: 4, expertsPerGroupScore: 2),
        RouterConfig(experts: 256, topK: 8, groups: 8, topKGroups: 8),
    ])
    func compositionGateHasTheFullDrawsLaw(config: RouterConfig) throws {
        let router = try Router(config: config)
        let prior = [Double](repeating: 0, count: config.experts)
        let tokens = 16_384
        let gate = try #require(CompositionGate(router: router, logPrior: prior))
        var random = LaneRandom(seed: 31)
        let fast = ChoiceStatistics(gate.route(tokens: tokens, random: &random), config: config)
        var again = LaneRandom(seed: 32)
        let full = ChoiceStatistics(try SampledGate(router: router, logPrior: prior, shortcuts: false)
            .route(tokens: tokens, random: &again, gateWeights: false), config: config)
        fast.expectSameLaw(as: full, topK: config.topK)
    }

    /// The shortcut only stands in where it is exact in law: not with a bias, a skewed
    /// popularity or a top-1 group score; and `SampledGate` uses it only when the gate weights
    /// are not wanted.
    @Test func compositionGateAppliesOnlyToExchangeableAffinities() throws {
        let prior = [Double](repeating: 0, count: 256)
        var biased = try Router(config: .deepSeekV3)
        biased.bias[3] = 0.01
        #expect(CompositionGate(router: biased, logPrior: prior) == nil)
        var skewed = prior
        skewed[0] = 0.5
        #expect(CompositionGate(router: try Router(config: .deepSeekV3), logPrior: skewed) == nil)
        let topOne = try Router(config: RouterConfig(experts: 160, topK: 6, groups: 8, topKGroups: 3, expertsPerGroupScore: 1))
        #expect(CompositionGate(router: topOne, logPrior: [Double](repeating: 0, count: 160)) == nil)
        let gate = try SampledGate(router: try Router(config: .deepSeekV3), logPrior: prior)
        var a = LaneRandom(seed: 9), b = LaneRandom(seed: 9)
        #expect(gate.route(tokens: 64, random: &a, gateWeights: false).weights.isEmpty)
        #expect(gate.route(tokens: 64, random: &b, gateWeights: true).weights.count == 64 * 8)
    }
}
