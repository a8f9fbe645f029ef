import Foundation
import Stochastic

/// How a token's K picks spread over the groups V3's gate keeps, when every expert's affinity
/// has the same law and there is no bias (uniform popularity: the default of a simulated step),
/// computed by integrating the order statistics rather than by sampling them.
///
/// With exchangeable affinities the gate's choice has three independent layers:
/// - which `topKGroups` groups are kept: every subset equally likely;
/// - how many picks each kept group gets: a composition of K whose law is exchangeable over the
///   kept groups, so only its parts (a partition of K, e.g. V3's "3+2+2+1") carry information;
/// - which experts of a group hold its picks: distinct experts drawn uniformly.
/// The first and last are counting; this type computes the middle one.
///
/// A group's affinities are n independent uniforms, its score s = a + b the sum of its top two
/// (a > b); the other n − 2 are uniform below b. With t the smallest kept score and x the K-th
/// largest kept affinity (the last pick), the probability that groups 1…M are kept and hold
/// c₁…c_M picks is
///
///     ∫∫ F(t)^(G−M) Σⱼ Σₕ Πᵍ T_g(t, x) dx dt,
///
/// where F is the law of a score (the G − M other groups score below t), group j scores exactly
/// t, group h holds the affinity at x, and T_g is, by role: P(s > t, c_g values above x);
/// the density of s at t with c_g above x; the density of an affinity at x with c_g − 1 above
/// it and s > t; or both densities. A partition's probability is that integral for one of its
/// orderings times C(G, M) kept sets times its distinct orderings over the kept groups. Each is a one-dimensional integral over b of a polynomial
/// (b^(n−2), or binomial terms (b − x)^r x^(n−2−r), times a linear length in a), taken in closed
/// form on the pieces where the max(b, t − b) and comparisons with x do not switch. The outer
/// (t, x) integral is 12-point Gauss–Legendre on panels graded toward the top (t → 2, x → 1,
/// where the mass is; the finest about 1/(n·M) of the range) and cut at the integrand's
/// kinks (x = t/2, t − 1, t); panels far below the mass are left out once they add less than
/// 10⁻¹⁵ of what was summed. V3's law takes about 5 000 nodes (4.5 ms, `llmsim bench --step`)
/// and its probabilities sum to 1 within 10⁻¹⁴ (`normalisationError`; 10 points per panel gave
/// 5·10⁻¹³, 8 gave 2·10⁻¹⁰). Tests compare the law with the full draw's frequencies and with
/// an independent quadrature.
///
/// Only the top-two group score of V3 with a real node limit (`topKGroups < groups`) is
/// integrated here; other layouts return nil (without a limit the picks are simply K distinct
/// experts, see `CompositionGate`).
public struct GateCompositionLaw: Sendable, Equatable {
    public let config: RouterConfig
    /// Partitions of K: parts descending and positive, at most `topKGroups` of them, none above
    /// the group size.
    public let partitions: [[Int]]
    /// The probability of each partition.
    public let probabilities: [Double]
    /// |Σ probabilities − 1| as integrated (the quadrature's own check).
    public let normalisationError: Double

    /// Gauss–Legendre points per outer panel.
    static let panelPoints = 12

    public init?(config c: RouterConfig) {
        let n = c.experts / c.groups
        guard (try? c.validate()) != nil, c.expertsPerGroupScore == 2, c.limitsGroups, n >= 2 else { return nil }
        let parts = Self.partitions(of: c.topK, atMost: c.topKGroups, largest: n)
        let integrand = GroupIntegrals(groupSize: n, maxCount: c.topK)
        let vectors = parts.map { $0 + [Int](repeating: 0, count: c.topKGroups - $0.count) }
        let integrals = Self.integrate(vectors: vectors, groups: c.groups, kept: c.topKGroups, integrand: integrand)
        let subsets = Self.binomial(c.groups, c.topKGroups)
        let p = zip(vectors, integrals).map { subsets * Self.arrangements($0) * $1 }
        config = c
        partitions = parts
        probabilities = p
        normalisationError = abs(p.reduce(0, +) - 1)
    }

    /// The outer (t, x) integral of every composition vector at once.
    static func integrate(vectors: [[Int]], groups: Int, kept: Int, integrand: GroupIntegrals) -> [Double] {
        let rule = try! GaussLegendre(points: panelPoints)   // a fixed, valid point count
        let n = integrand.groupSize
        let depth = Int((log2(Double(n * kept))).rounded(.up))
        // Panels toward the top: score t ∈ (0, 2), affinity x ∈ (0, 1).
        let tEdges = gradedEdges(top: 2, depth: depth, extra: [1])
        var totals = [Double](repeating: 0, count: vectors.count)
        var terms = integrand.makeTerms()
        var tSum = 0.0
        for tPanel in stride(from: tEdges.count - 1, to: 0, by: -1) {
            var tPanelSum = 0.0
            rule.forEachNode(from: tEdges[tPanel - 1], to: tEdges[tPanel]) { t, tWeight in
                let others = pow(1 - integrand.survival(t), Double(groups - kept))
                guard others > 0 else { return }
                let xEdges = gradedEdges(top: 1, depth: depth, extra: [t / 2, t - 1, t])
                var xSum = 0.0
                for xPanel in stride(from: xEdges.count - 1, to: 0, by: -1) {
                    var xPanelSum = 0.0
                    rule.forEachNode(from: xEdges[xPanel - 1], to: xEdges[xPanel]) { x, xWeight in
                        integrand.fill(&terms, t: t, x: x)
                        let w = tWeight * xWeight * others
                        for (i, v) in vectors.enumerated() {
                            let value = w * terms.coefficient(v)
                            totals[i] += value
                            xPanelSum += value
                        }
                    }
                    xSum += xPanelSum
                    if xPanelSum <= 1e-15 * xSum { break }
                }
                tPanelSum += xSum
            }
            tSum += tPanelSum
            if tPanelSum <= 1e-15 * tSum { break }
        }
        return totals
    }

    /// 0, top − top/2^k for k = 1 … depth − 1, top, with the `extra` points that lie strictly
    /// inside merged in.
    static func gradedEdges(top: Double, depth: Int, extra: [Double]) -> [Double] {
        var edges = [0.0, top]
        for k in 1..<depth { edges.append(top - top * pow(2, -Double(k))) }
        for e in extra where e > 0 && e < top && !edges.contains(e) { edges.append(e) }
        return edges.sorted()
    }

    /// Partitions of `total` into at most `parts` positive parts of at most `largest`, parts
    /// descending, in reverse lexicographic order.
    static func partitions(of total: Int, atMost parts: Int, largest: Int) -> [[Int]] {
        if total == 0 { return [[]] }
        guard parts > 0 else { return [] }
        var out: [[Int]] = []
        for first in stride(from: min(total, largest), through: 1, by: -1) {
            for rest in partitions(of: total - first, atMost: parts - 1, largest: first) { out.append([first] + rest) }
        }
        return out
    }

    /// Distinct orderings of a vector's entries: m! / Π (multiplicity)!.
    static func arrangements(_ v: [Int]) -> Double {
        var counts: [Int: Int] = [:]
        for x in v { counts[x, default: 0] += 1 }
        return counts.values.reduce(factorial(v.count)) { $0 / factorial($1) }
    }

    static func factorial(_ k: Int) -> Double { (1...max(k, 1)).reduce(1.0) { $0 * Double($1) } }

    /// C(n, k) as the product Π (n − i)/(i + 1); 0 when k > n ≥ 0.
    static func binomial(_ n: Int, _ k: Int) -> Double {
        (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) }
    }
}
