import CGSL

/// Continuous and discrete distributions the simulator draws from. Each checks its parameters
/// and throws `StochasticError` rather than letting GSL abort.
extension RandomStream {
    /// Normal (Gaussian) with the given mean and standard deviation (ziggurat method).
    public func normal(mean: Double = 0, sd: Double = 1) throws -> Double {
        try StochasticError.require(sd >= 0 && sd.isFinite, "sd", sd, "finite and >= 0")
        return mean + gsl_ran_gaussian_ziggurat(rng, sd)
    }

    /// A standard normal variate (ziggurat), without argument checks: the hot-loop form.
    @inlinable public func standardNormal() -> Double { gsl_ran_gaussian_ziggurat(rng, 1) }

    /// Lognormal: `exp(N(mu, sigma))`.
    public func lognormal(mu: Double, sigma: Double) throws -> Double {
        try StochasticError.require(sigma > 0 && sigma.isFinite, "sigma", sigma, "finite and > 0")
        return gsl_ran_lognormal(rng, mu, sigma)
    }

    /// Gamma with shape k and scale θ (mean kθ).
    public func gamma(shape: Double, scale: Double) throws -> Double {
        try StochasticError.require(shape > 0 && shape.isFinite, "shape", shape, "finite and > 0")
        try StochasticError.require(scale > 0 && scale.isFinite, "scale", scale, "finite and > 0")
        return gsl_ran_gamma(rng, shape, scale)
    }

    /// Exponential with the given mean.
    public func exponential(mean: Double) throws -> Double {
        try StochasticError.require(mean > 0 && mean.isFinite, "mean", mean, "finite and > 0")
        return gsl_ran_exponential(rng, mean)
    }

    /// Poisson with the given mean.
    public func poisson(mean: Double) throws -> Int {
        try StochasticError.require(mean >= 0 && mean.isFinite, "mean", mean, "finite and >= 0")
        return Int(gsl_ran_poisson(rng, mean))
    }

    /// Dirichlet with concentration parameters `alpha` (all > 0); the result sums to 1.
    public func dirichlet(alpha: [Double]) throws -> [Double] {
        try StochasticError.require(!alpha.isEmpty, "alpha", "[]", "non-empty")
        for a in alpha { try StochasticError.require(a > 0 && a.isFinite, "alpha", a, "finite and > 0") }
        var theta = [Double](repeating: 0, count: alpha.count)
        alpha.withUnsafeBufferPointer { a in
            theta.withUnsafeMutableBufferPointer { t in
                gsl_ran_dirichlet(rng, alpha.count, a.baseAddress, t.baseAddress)
            }
        }
        return theta
    }

    /// Pareto (power law) with exponent `a` and scale `b`: density ∝ x^-(a+1) for x ≥ b.
    public func pareto(exponent a: Double, scale b: Double) throws -> Double {
        try StochasticError.require(a > 0 && a.isFinite, "exponent", a, "finite and > 0")
        try StochasticError.require(b > 0 && b.isFinite, "scale", b, "finite and > 0")
        return gsl_ran_pareto(rng, a, b)
    }

    /// A rank in 1...n from the Zipf law P(k) ∝ k^-s.
    public func zipf(_ law: ZipfLaw) -> Int { law.rank(forUniform: uniform()) }

    /// An index in 0..<weights.count with probability proportional to its weight.
    public func categorical(_ sampler: CategoricalSampler) -> Int {
        Int(gsl_ran_discrete(rng, sampler.table))
    }
}

/// The finite Zipf law over ranks 1...n, P(k) = k^-s / H(n, s); sampled by inverting its CDF.
public struct ZipfLaw: Sendable {
    public let n: Int
    public let exponent: Double
    /// Cumulative probabilities, `cdf[k-1] = P(rank ≤ k)`.
    public let cdf: [Double]

    public init(n: Int, exponent s: Double) throws {
        try StochasticError.require(n > 0, "n", n, "> 0")
        try StochasticError.require(s >= 0 && s.isFinite, "exponent", s, "finite and >= 0")
        self.n = n
        exponent = s
        var weights = (1...n).map { pow(Double($0), -s) }
        let total = weights.reduce(0, +)
        var running = 0.0
        for i in weights.indices { running += weights[i] / total; weights[i] = running }
        weights[n - 1] = 1
        cdf = weights
    }

    /// The probability of each rank 1...n, in order.
    public var probabilities: [Double] {
        cdf.indices.map { $0 == 0 ? cdf[0] : cdf[$0] - cdf[$0 - 1] }
    }

    /// The rank whose CDF interval contains `u` (binary search).
    public func rank(forUniform u: Double) -> Int {
        var low = 0, high = n - 1
        while low < high {
            let mid = (low + high) / 2
            if cdf[mid] > u { high = mid } else { low = mid + 1 }
        }
        return low + 1
    }
}

/// Walker's alias table over arbitrary non-negative weights (GSL `gsl_ran_discrete`):
/// O(n) to build, O(1) per draw.
public final class CategoricalSampler {
    let table: UnsafeMutablePointer<gsl_ran_discrete_t>
    public let count: Int

    public init(weights: [Double]) throws {
        try StochasticError.require(!weights.isEmpty, "weights", "[]", "non-empty")
        for w in weights { try StochasticError.require(w >= 0 && w.isFinite, "weight", w, "finite and >= 0") }
        try StochasticError.require(weights.contains { $0 > 0 }, "weights", "all zero", "not all zero")
        GSLSetup.disableAbortHandler()
        guard let t = weights.withUnsafeBufferPointer({ gsl_ran_discrete_preproc($0.count, $0.baseAddress) }) else {
            throw StochasticError(parameter: "weights", value: "\(weights.count) values", requirement: "accepted by gsl_ran_discrete_preproc")
        }
        table = t
        count = weights.count
    }

    deinit { gsl_ran_discrete_free(table) }
}

import Foundation
