import Foundation
import Stochastic

/// How popular experts are, for synthetic routing.
public enum ExpertSkew: Sendable, Equatable, CustomStringConvertible {
    /// Every expert equally likely a priori (DeepSeek's profile trace used "perfectly balanced
    /// simulated MoE routing").
    case uniform
    /// Popularities drawn from a symmetric Dirichlet(α): small α, strong skew.
    case dirichlet(alpha: Double)
    /// Popularity ∝ rank^-s over a random permutation of the experts.
    case zipf(exponent: Double)
    /// Popularities given by the user (any non-negative weights, one per expert).
    case histogram([Double])

    /// Parses `uniform`, `dirichlet:ALPHA`, `zipf:S`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let fix = "use uniform, dirichlet:ALPHA (e.g. dirichlet:1.0), zipf:S (e.g. zipf:1.1) or histogram:FILE"
        switch parts[0] {
        case "uniform" where parts.count == 1: self = .uniform
        case "dirichlet", "zipf":
            guard parts.count == 2, let v = Double(parts[1]), v > 0, v.isFinite else {
                throw KernelError("--skew", "'\(text)' needs a positive number after the colon", fix: fix)
            }
            self = parts[0] == "dirichlet" ? .dirichlet(alpha: v) : .zipf(exponent: v)
        default:
            throw KernelError("--skew", "unknown skew '\(text)'", fix: fix)
        }
    }

    public var description: String {
        switch self {
        case .uniform: return "uniform"
        case .dirichlet(let a): return "dirichlet:\(a)"
        case .zipf(let s): return "zipf:\(s)"
        case .histogram(let h): return "histogram(\(h.count) experts)"
        }
    }

    /// Throws unless the skew describes `experts` experts: a histogram needs one finite,
    /// non-negative load per expert, not all zero.
    public func check(experts: Int) throws {
        guard case .histogram(let h) = self else { return }
        guard h.count == experts else {
            throw KernelError("histogram", "\(h.count) values for \(experts) experts", fix: "give one load per expert")
        }
        guard h.allSatisfy({ $0 >= 0 && $0.isFinite }), h.contains(where: { $0 > 0 }) else {
            throw KernelError("histogram", "loads must be non-negative and not all zero", fix: "give token counts per expert")
        }
    }

    /// Every parameter, histogram loads included: two skews with equal identities draw equal
    /// affinities (the description shortens a histogram to its length).
    public var identity: String {
        if case .histogram(let h) = self { return "histogram:" + h.map { "\($0)" }.joined(separator: ",") }
        return description
    }
}

/// Synthetic token-to-expert affinities with controllable skew.
///
/// Model: each expert e has a popularity p_e (from the skew law); a token's logit for e is
/// z = ln(E·p_e) + ε with ε ~ Logistic(0, 1) independent per token and expert (the noise of the
/// logit choice model), and its affinity is s = sigmoid(z), as V3's gate computes. Logistic noise
/// makes the affinity a rational function of one uniform draw u:
/// s = 1 / (1 + c_e·(1 − u)/u) with c_e = 1/(E·p_e), so no exponential is evaluated per draw
/// (this sampling is the cost of a simulated step; `SampledGate` draws and routes in one pass).
/// Uniform popularity gives balanced routing in expectation; a skewed law makes popular experts
/// win more often, which the bias update then counteracts. This type holds the law.
public struct TokenAffinities: Sendable {
    public let experts: Int
    public let popularity: [Double]
    public let logPrior: [Double]

    public init(experts: Int, skew: ExpertSkew, stream: RandomStream) throws {
        guard experts > 0 else { throw KernelError("experts", "must be > 0", fix: "check the model") }
        self.experts = experts
        let lawStream = stream.split("popularity")
        var p: [Double]
        switch skew {
        case .uniform:
            p = [Double](repeating: 1 / Double(experts), count: experts)
        case .dirichlet(let alpha):
            p = try lawStream.dirichlet(alpha: [Double](repeating: alpha, count: experts))
        case .zipf(let s):
            let law = try ZipfLaw(n: experts, exponent: s)
            let ranked = law.probabilities
            var order = Array(0..<experts)
            for i in stride(from: experts - 1, to: 0, by: -1) { order.swapAt(i, try lawStream.integer(below: i + 1)) }
            p = [Double](repeating: 0, count: experts)
            for (rank, e) in order.enumerated() { p[e] = ranked[rank] }
        case .histogram(let h):
            try skew.check(experts: experts)
            let total = h.reduce(0, +)
            p = h.map { $0 / total }
        }
        popularity = p
        // Floor at 1e-12 so that an expert with zero popularity gets a very low, finite logit.
        // Uniform popularity is exactly 0 (E · (1/E) rounds below 1 for some E, e.g. 49 or 98,
        // which would cost those layouts the exchangeable-affinity shortcuts).
        logPrior = skew == .uniform ? [Double](repeating: 0, count: experts) : p.map { log(max(Double(experts) * $0, 1e-12)) }
    }
}
