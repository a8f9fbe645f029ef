import Foundation
import Stochastic

/// Tokens of one sequence are not independent draws from the corpus: a page of code, of
/// mathematics or of Chinese prose favours its own experts in every layer (V3 report §4.5.3
/// and Fig. 9–10: with the auxiliary-loss-free balance, experts specialise by domain). The
/// balancing bias evens the loads over many batches, not within one micro-batch, so each
/// micro-batch of an EP group loads its GPUs unevenly, and differently from the next.
///
/// Model: each sequence s draws its own expert popularity p_s ~ Dirichlet(β·E·p), centred on the
/// group's popularity p (`TokenAffinities`, uniform by default), and its tokens route through
/// the gate with prior ln(E·p_s) instead of ln(E·p). β is the concentration: an expert's
/// per-sequence popularity varies around its mean p_e with a coefficient of variation of
/// √((1 − p_e)/(p_e·(β·E + 1))), which for uniform p is √((E − 1)/(β·E + 1)) ≈ 1/√β; large β is
/// independent tokens, small β one-domain sequences. The gate's node limit, top-K and bias
/// act on every token as before; only the prior moves.
///
/// Each sequence's popularity comes from its own stream (seed, step, GPU, sequence), so the
/// draw does not depend on threads or on the order GPUs are routed in.
public struct SequencePopularity: Sendable {
    /// β, > 0.
    public let concentration: Double
    public let sequencesPerGPU: Int
    public let tokensPerGPU: Int
    public let seed: UInt64
    /// GPUs that route (the EP × expert-TP group).
    public let gpus: Int

    /// The smallest and largest β accepted: below 0.01 a sequence uses a handful of experts
    /// (Dirichlet draws underflow to zero), above 10⁶ it is indistinguishable from independent
    /// tokens at any micro-batch size llmsim routes.
    public static let range = 0.01...1e6

    /// β within `range`, or an error that says what β means.
    public static func check(concentration: Double) throws {
        guard range.contains(concentration) else {
            throw KernelError("sequence concentration", "\(concentration) is outside \(range.lowerBound)…\(range.upperBound)",
                              fix: "β is about 1/CV² of an expert's per-sequence popularity (e.g. 4 for a 50% CV); leave it out for independent tokens")
        }
    }

    public init(concentration: Double, sequencesPerGPU: Int, tokensPerGPU: Int, seed: UInt64, gpus: Int) throws {
        try Self.check(concentration: concentration)
        guard sequencesPerGPU >= 1, tokensPerGPU % sequencesPerGPU == 0 else {
            throw KernelError("sequences per GPU", "\(tokensPerGPU) tokens do not split into \(sequencesPerGPU) equal sequences",
                              fix: "route a whole number of tokens per sequence")
        }
        self.concentration = concentration; self.sequencesPerGPU = sequencesPerGPU
        self.tokensPerGPU = tokensPerGPU; self.seed = seed; self.gpus = gpus
    }

    /// The popularity of sequence `sequence` of GPU `gpu` in routing step `step`, around `mean`.
    public func popularity(gpu: Int, sequence: Int, step: Int, around mean: [Double]) throws -> [Double] {
        let index = (step * gpus + gpu) * sequencesPerGPU + sequence
        let stream = RandomStream(seed: RandomStream.derive(seed: seed, label: "sequence-popularity", index: index))
        let e = Double(mean.count)
        // An expert the group never picks (a histogram's zero) keeps a vanishing share.
        return try stream.dirichlet(alpha: mean.map { max(concentration * e * $0, 1e-9) })
    }

    /// GPU `gpu`'s `tokensPerGPU` tokens in step `step`: its sequences one after another, each
    /// through `router` with its own prior, from the GPU's generator. Only the choices are kept.
    public func route(gpu: Int, step: Int, router: Router, law: TokenAffinities, random: inout LaneRandom) throws -> Routing {
        let perSequence = tokensPerGPU / sequencesPerGPU, e = Double(law.experts)
        var experts: [Int32] = []
        experts.reserveCapacity(tokensPerGPU * router.config.topK)
        for q in 0..<sequencesPerGPU {
            let p = try popularity(gpu: gpu, sequence: q, step: step, around: law.popularity)
            let gate = try SampledGate(router: router, logPrior: p.map { log(max(e * $0, 1e-12)) }, shortcuts: false)
            experts += gate.route(tokens: perSequence, random: &random, gateWeights: false).experts
        }
        return Routing(tokens: tokensPerGPU, topK: router.config.topK, experts: experts, weights: [])
    }
}
