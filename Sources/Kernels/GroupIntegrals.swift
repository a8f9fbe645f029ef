import Foundation

/// One expert group's part of `GateCompositionLaw`'s integrand, in closed form.
///
/// The group has n independent uniform affinities; a > b are its top two, with joint density
/// n(n−1)·b^N (N = n − 2) on 0 < b < a < 1, and the other N are uniform on (0, b). Its score is
/// s = a + b. For a smallest kept score t and a last pick x, `fill` gives, for every count c of
/// picks the group holds (0…K):
/// - `kept[c]`: P(s > t and c affinities above x);
/// - `atScore[c]`: the density of s at t, with c affinities above x;
/// - `atPick[c]`: the density of an affinity at x, s > t, c − 1 affinities above x;
/// - `atBoth[c]`: both densities.
/// Conditioned on b, the number of the other N above x is binomial, and b^N·P(r above) =
/// C(N, r)(b − x)^r x^(N−r), a polynomial; so is the length of the range of a (from
/// max(b, t − b), and x, to 1). Each term is therefore a sum of integrals of b^N or (b − x)^r
/// times a linear function of b, over pieces of b cut where max(b, t − b) or a comparison with x
/// switches, each taken in closed form.
struct GroupIntegrals: Sendable {
    let groupSize: Int
    /// K: counts above it are never needed (a group holds at most K picks).
    let maxCount: Int
    /// N = n − 2, the affinities below the top two.
    let rest: Int
    /// n(n − 1): the normalisation of the top two's joint density.
    let scale: Double
    /// C(N, r) and C(N − 1, r) for r = 0…K.
    let binomialRest: [Double], binomialRestLessOne: [Double]

    init(groupSize n: Int, maxCount: Int) {
        groupSize = n
        self.maxCount = maxCount
        rest = n - 2
        scale = Double(n * (n - 1))
        binomialRest = (0...maxCount).map { GateCompositionLaw.binomial(n - 2, $0) }
        binomialRestLessOne = (0...maxCount).map { GateCompositionLaw.binomial(max(n - 3, 0), $0) }
    }

    /// Scratch for `fill`, sized for this group.
    func makeTerms() -> Terms { Terms(maxCount: maxCount, rest: rest) }

    /// The four role terms for counts 0…K, and the product over a composition's groups.
    struct Terms {
        var kept: [Double], atScore: [Double], atPick: [Double], atBoth: [Double]
        /// x^k for k = 0…N.
        var xPowers: [Double]

        init(maxCount: Int, rest: Int) {
            kept = [Double](repeating: 0, count: maxCount + 1)
            atScore = kept; atPick = kept; atBoth = kept
            xPowers = [Double](repeating: 1, count: rest + 1)
        }

        mutating func clear() {
            for i in kept.indices { kept[i] = 0; atScore[i] = 0; atPick[i] = 0; atBoth[i] = 0 }
        }

        /// Σ over which group scores t (j) and which holds x (h) of Π_g T_g(c_g): the coefficient
        /// of y·z in Π_g (kept + y·atScore + z·atPick + y·z·atBoth) at c_g.
        @inline(__always)
        func coefficient(_ counts: [Int]) -> Double {
            var none = 1.0, score = 0.0, pick = 0.0, both = 0.0
            for c in counts {
                both = both * kept[c] + pick * atScore[c] + score * atPick[c] + none * atBoth[c]
                score = score * kept[c] + none * atScore[c]
                pick = pick * kept[c] + none * atPick[c]
                none *= kept[c]
            }
            return both
        }
    }

    /// A linear function c0 + c1·b of b.
    struct Linear { var c0: Double, c1: Double }

    /// x^n for n ≥ 0 by repeated squaring: within a few ulps of `pow` and several times faster
    /// (with `pow` the V3 law took 4.5 ms instead of 3.1 ms).
    @inline(__always)
    static func power(_ x: Double, _ n: Int) -> Double {
        var result = 1.0, base = x, e = n
        while e > 0 {
            if e & 1 == 1 { result *= base }
            base *= base
            e >>= 1
        }
        return result
    }

    /// ∫ₚ^q b^N (c0 + c1·b) db.
    @inline(__always)
    func powerIntegral(_ p: Double, _ q: Double, _ f: Linear) -> Double {
        let N = Double(rest)
        let p1 = Self.power(p, rest + 1), q1 = Self.power(q, rest + 1)
        return f.c0 * (q1 - p1) / (N + 1) + f.c1 * (q1 * q - p1 * p) / (N + 2)
    }

    /// Adds scale·factor·∫ₚ^q C(M, r)(b − x)^r x^(M−r) (c0 + c1·b) db to `into[r + offset]` for
    /// every r with r + offset ≤ K, where M is N (`lessOne` false) or N − 1; x ≤ p < q.
    @inline(__always)
    func addBinomialIntegrals(_ p: Double, _ q: Double, x: Double, _ f: Linear, lessOne: Bool, offset: Int,
                              factor: Double, xPowers: [Double], into: inout [Double]) {
        let m = lessOne ? rest - 1 : rest
        let binomials = lessOne ? binomialRestLessOne : binomialRest
        // c0 + c1·b = (c0 + c1·x) + c1·u with u = b − x.
        let constant = f.c0 + f.c1 * x, slope = f.c1
        let up = p - x, uq = q - x
        var powP = up, powQ = uq   // u^(r+1)
        var r = 0
        while r + offset <= maxCount && r <= m {
            let first = (powQ - powP) / Double(r + 1)
            let nextP = powP * up, nextQ = powQ * uq
            let second = (nextQ - nextP) / Double(r + 2)
            into[r + offset] += scale * factor * binomials[r] * xPowers[m - r] * (constant * first + slope * second)
            powP = nextP; powQ = nextQ
            r += 1
        }
    }

    /// P(s > t).
    func survival(_ t: Double) -> Double {
        let low = max(0, t - 1), middle = min(max(t / 2, low), 1)
        // Below t/2 the range of a starts at t − b, above it at b.
        var s = 0.0
        if middle > low { s += powerIntegral(low, middle, Linear(c0: 1 - t, c1: 1)) }
        if 1 > middle { s += powerIntegral(middle, 1, Linear(c0: 1, c1: -1)) }
        return scale * s
    }

    /// Calls `body` with the pieces of (low, high) cut at whichever of `a`, `b`, `c` lie inside
    /// (in order; nan never does).
    @inline(__always)
    func forEachPiece(_ low: Double, _ high: Double, cuts a: Double, _ b: Double = .nan, _ c: Double = .nan,
                      _ body: (Double, Double) -> Void) {
        var points = (low, high, high, high, high), count = 1
        withUnsafeMutableBytes(of: &points) { raw in
            let p = raw.bindMemory(to: Double.self)
            func insert(_ cut: Double) {
                guard cut > low && cut < high else { return }
                var i = count
                while p[i - 1] > cut { p[i] = p[i - 1]; i -= 1 }
                p[i] = cut
                count += 1
            }
            insert(a); insert(b); insert(c)
            p[count] = high
            for i in 1...count where p[i] > p[i - 1] { body(p[i - 1], p[i]) }
        }
    }

    func fill(_ terms: inout Terms, t: Double, x: Double) {
        terms.clear()
        let K = maxCount, N = Double(rest)
        var power = 1.0   // carried in a register: through the array the chain waited on each store
        for k in stride(from: 1, through: rest, by: 1) { power *= x; terms.xPowers[k] = power }
        let xPowers = terms.xPowers
        let low = max(0, t - 1)   // b > t − 1, or a = t − b would exceed 1
        let half = t / 2
        /// max(b, t − b) on a piece whose midpoint is m.
        func rangeStart(_ m: Double) -> Linear { m > half ? Linear(c0: 0, c1: 1) : Linear(c0: t, c1: -1) }

        // kept: a anywhere in (max(b, t − b), 1).
        forEachPiece(low, 1, cuts: half, x, t - x) { p, q in
            let m = 0.5 * (p + q), start = rangeStart(m)
            let startValue = start.c0 + start.c1 * m
            let aboveXLength = startValue < x ? Linear(c0: 1 - x, c1: 0) : Linear(c0: 1 - start.c0, c1: -start.c1)
            if q <= x {
                // b below x, so are the other N; a above x counts 1.
                terms.kept[1] += scale * powerIntegral(p, q, aboveXLength)
                if startValue < x { terms.kept[0] += scale * powerIntegral(p, q, Linear(c0: x - start.c0, c1: -start.c1)) }
            } else {
                addBinomialIntegrals(p, q, x: x, aboveXLength, lessOne: false, offset: 2, factor: 1, xPowers: xPowers, into: &terms.kept)
            }
        }
        // atScore: a = t − b, b ∈ (t − 1, t/2).
        if min(half, 1) > low {
            forEachPiece(low, min(half, 1), cuts: x, t - x) { p, q in
                let m = 0.5 * (p + q)
                if q <= x {
                    terms.atScore[t - m > x ? 1 : 0] += scale * powerIntegral(p, q, Linear(c0: 1, c1: 0))
                } else {
                    addBinomialIntegrals(p, q, x: x, Linear(c0: 1, c1: 0), lessOne: false, offset: 2, factor: 1, xPowers: xPowers, into: &terms.atScore)
                }
            }
        }
        // atPick, the affinity at x being a (b between t − x and x, nothing else above x) …
        let bFloor = max(0, t - x)
        if x > bFloor { terms.atPick[1] += scale * (xPowers[rest] * x - Self.power(bFloor, rest + 1)) / (N + 1) }
        // … or b (a above x and t − x) …
        let aLength = 1 - max(x, t - x)
        if aLength > 0 && K >= 2 { terms.atPick[2] += scale * xPowers[rest] * aLength }
        // … or one of the other N (b above x; the other N − 1 binomial above x).
        if rest >= 1 {
            forEachPiece(max(x, low), 1, cuts: half) { p, q in
                let start = rangeStart(0.5 * (p + q))
                addBinomialIntegrals(p, q, x: x, Linear(c0: 1 - start.c0, c1: -start.c1), lessOne: true, offset: 3,
                                     factor: N, xPowers: xPowers, into: &terms.atPick)
            }
        }
        // atBoth: the same three cases with a = t − b.
        if t - x > 0 && t - x < x { terms.atBoth[1] += scale * Self.power(t - x, rest) }
        if t - x > x && t - x < 1 && K >= 2 { terms.atBoth[2] += scale * xPowers[rest] }
        if rest >= 1 && min(half, 1) > max(x, low) {
            addBinomialIntegrals(max(x, low), min(half, 1), x: x, Linear(c0: 1, c1: 0), lessOne: true, offset: 3,
                                 factor: N, xPowers: xPowers, into: &terms.atBoth)
        }
    }
}
