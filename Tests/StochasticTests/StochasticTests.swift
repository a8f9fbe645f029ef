import Testing
@testable import Stochastic

@Suite struct RandomStreamTests {
    @Test func sameSeedSameNumbers() {
        let a = RandomStream(seed: 42), b = RandomStream(seed: 42)
        for _ in 0..<100 { #expect(a.uniform() == b.uniform()) }
    }

    @Test func splitStreamsAreStableAndIndependent() throws {
        let root = RandomStream(seed: 7)
        let router1 = root.split("router"), router2 = RandomStream(seed: 7).split("router")
        let fabric = root.split("fabric")
        #expect(router1.seed == router2.seed)
        #expect(router1.seed != fabric.seed)
        #expect(root.split("rank", index: 0).seed != root.split("rank", index: 1).seed)
        // Drawing from one child never shifts another.
        let x = RandomStream(seed: 7).split("fabric").uniform()
        _ = router1.uniform()
        #expect(fabric.uniform() == x)
        // Child streams are uncorrelated: sample correlation of 20,000 pairs near 0.
        let a = root.split("a"), b = root.split("b")
        var sxy = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0
        let n = 20_000.0
        for _ in 0..<Int(n) {
            let x = a.uniform(), y = b.uniform()
            sxy += x * y; sx += x; sy += y; sxx += x * x; syy += y * y
        }
        let r = (sxy - sx * sy / n) / ((sxx - sx * sx / n) * (syy - sy * sy / n)).squareRoot()
        #expect(abs(r) < 0.03)
    }

    /// Sample means within 4 standard errors of the true mean.
    @Test func distributionMeans() throws {
        let s = RandomStream(seed: 11)
        let n = 40_000
        func mean(_ draw: () throws -> Double) rethrows -> Double {
            var total = 0.0
            for _ in 0..<n { total += try draw() }
            return total / Double(n)
        }
        func check(_ m: Double, _ mu: Double, _ sd: Double) { #expect(abs(m - mu) < 4 * sd / Double(n).squareRoot()) }
        check(try mean { try s.normal(mean: 3, sd: 2) }, 3, 2)
        check(try mean { try s.exponential(mean: 5) }, 5, 5)
        check(try mean { try s.gamma(shape: 2, scale: 3) }, 6, (2.0 * 9).squareRoot())
        check(try mean { Double(try s.poisson(mean: 4)) }, 4, 2)
        let mu = 0.5, sigma = 0.25
        let lnMean = exp(mu + sigma * sigma / 2), lnSD = ((exp(sigma * sigma) - 1) * exp(2 * mu + sigma * sigma)).squareRoot()
        check(try mean { try s.lognormal(mu: mu, sigma: sigma) }, lnMean, lnSD)
        check(try mean { try s.uniform(2, 4) }, 3, 2 / 12.0.squareRoot())
    }

    @Test func dirichletSumsToOneWithExpectedMeans() throws {
        let s = RandomStream(seed: 3)
        let alpha = [1.0, 2.0, 7.0]
        var totals = [0.0, 0.0, 0.0]
        for _ in 0..<5_000 {
            let theta = try s.dirichlet(alpha: alpha)
            #expect(abs(theta.reduce(0, +) - 1) < 1e-12)
            for i in 0..<3 { totals[i] += theta[i] }
        }
        for i in 0..<3 { #expect(abs(totals[i] / 5_000 - alpha[i] / 10) < 0.01) }
    }

    @Test func zipfLawProbabilitiesAndSampling() throws {
        let law = try ZipfLaw(n: 4, exponent: 1)
        let h = 1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4
        #expect(zip(law.probabilities, [1, 0.5, 1.0 / 3, 0.25].map { $0 / h }).allSatisfy { abs($0 - $1) < 1e-12 })
        let s = RandomStream(seed: 5)
        var counts = [0, 0, 0, 0]
        for _ in 0..<40_000 { counts[s.zipf(law) - 1] += 1 }
        #expect(abs(Double(counts[0]) / 40_000 - 1 / h) < 0.01)
        #expect(law.rank(forUniform: 0) == 1 && law.rank(forUniform: 0.999_999) == 4)
    }

    @Test func categoricalFollowsWeights() throws {
        let sampler = try CategoricalSampler(weights: [1, 0, 3])
        let s = RandomStream(seed: 9)
        var counts = [0, 0, 0]
        for _ in 0..<40_000 { counts[s.categorical(sampler)] += 1 }
        #expect(counts[1] == 0)
        #expect(abs(Double(counts[2]) / 40_000 - 0.75) < 0.01)
    }

    @Test func badParametersThrowInsteadOfAborting() {
        let s = RandomStream(seed: 1)
        #expect(throws: StochasticError.self) { try s.gamma(shape: 0, scale: 1) }
        #expect(throws: StochasticError.self) { try s.gamma(shape: 1, scale: -1) }
        #expect(throws: StochasticError.self) { try s.normal(sd: -1) }
        #expect(throws: StochasticError.self) { try s.exponential(mean: .nan) }
        #expect(throws: StochasticError.self) { try s.dirichlet(alpha: [1, 0]) }
        #expect(throws: StochasticError.self) { try s.uniform(3, 3) }
        #expect(throws: StochasticError.self) { try ZipfLaw(n: 0, exponent: 1) }
        #expect(throws: StochasticError.self) { try CategoricalSampler(weights: [0, 0]) }
        #expect(throws: StochasticError.self) { try Summary([]) }
        #expect(throws: StochasticError.self) { try Statistics.quantile([1, 2], 1.5) }
        do { _ = try s.gamma(shape: -2, scale: 1) } catch {
            #expect("\(error)" == "invalid shape = -2.0: must be finite and > 0")
        }
    }
}

@Suite struct StatisticsTests {
    @Test func summaryOfKnownSample() throws {
        let s = try Summary([4, 1, 3, 2, 5])
        #expect(s.count == 5)
        #expect(s.mean == 3)
        #expect(abs(s.standardDeviation - 2.5.squareRoot()) < 1e-12)
        #expect(s.median == 3 && s.min == 1 && s.max == 5)
        #expect(abs(s.p90 - 4.6) < 1e-12)       // type 7: 1 + 0.9·4 = 4.6th order statistic
        #expect(abs(s.maxOverMean - 5.0 / 3) < 1e-12)
    }

    @Test func blasMatchesHandProduct() throws {
        let c = try BLAS.gemm([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], m: 2, n: 2, k: 3)
        #expect(c == [58, 64, 139, 154])
        #expect(throws: StochasticError.self) { try BLAS.gemm([1], [1, 2], m: 1, n: 1, k: 1) }
    }
}

import Foundation
