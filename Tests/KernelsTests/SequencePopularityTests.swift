import Foundation
import Kernels
import Stochastic
import Testing

/// Tokens of a sequence that share an expert popularity (`SequencePopularity`): the law of the
/// per-sequence popularity, its seeding, its errors, and what it does to an EP group's loads.
@Suite struct SequencePopularityTests {
    func law(_ beta: Double, sequences: Int = 1, tokens: Int = 4096, gpus: Int = 8) throws -> SequencePopularity {
        try SequencePopularity(concentration: beta, sequencesPerGPU: sequences, tokensPerGPU: tokens, seed: 1, gpus: gpus)
    }

    /// Dirichlet(β·E·p): each expert's share has mean p_e and, for uniform p, a coefficient of
    /// variation √((E − 1)/(β·E + 1)) — 0.4988 for E = 256, β = 4.
    @Test("per-sequence popularity: mean p, CV √((E − 1)/(βE + 1))")
    func popularityLaw() throws {
        let e = 256, mean = [Double](repeating: 1 / Double(e), count: e)
        let p = try law(4)
        var values: [Double] = []
        for g in 0..<8 { for step in 0..<50 { values += try p.popularity(gpu: g, sequence: 0, step: step, around: mean) } }
        let n = Double(values.count), m = values.reduce(0, +) / n
        let sd = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot()
        #expect(abs(m * Double(e) - 1) < 1e-9)
        #expect(abs(sd / m / (255.0 / 1025).squareRoot() - 1) < 0.03)
        // Around a skewed mean, each expert's average over sequences is its mean share.
        let skewed = (0..<e).map { Double($0 % 4 + 1) / Double(e / 4 * 10) }
        var sum = [Double](repeating: 0, count: e)
        for g in 0..<8 { for step in 0..<100 { for (i, x) in try p.popularity(gpu: g, sequence: 0, step: step, around: skewed).enumerated() { sum[i] += x / 800 } } }
        let heavy = stride(from: 3, to: e, by: 4).map { sum[$0] }.reduce(0, +), light = stride(from: 0, to: e, by: 4).map { sum[$0] }.reduce(0, +)
        #expect(abs(heavy / light - 4) < 0.1)
    }

    @Test("seeded by (seed, step, GPU, sequence)")
    func seeding() throws {
        let mean = [Double](repeating: 1.0 / 64, count: 64), p = try law(1, sequences: 2)
        let a = try p.popularity(gpu: 3, sequence: 1, step: 0, around: mean)
        #expect(a == (try p.popularity(gpu: 3, sequence: 1, step: 0, around: mean)))
        #expect(a != (try p.popularity(gpu: 3, sequence: 0, step: 0, around: mean)))
        #expect(a != (try p.popularity(gpu: 2, sequence: 1, step: 0, around: mean)))
        #expect(a != (try p.popularity(gpu: 3, sequence: 1, step: 1, around: mean)))
    }

    @Test("errors: β out of range, sequences that do not split the tokens, the round-robin gate")
    func errors() throws {
        for beta in [0.0, 0.001, 2e6, .infinity, .nan] { #expect(throws: KernelError.self) { _ = try law(beta) } }
        #expect(throws: KernelError.self) { _ = try law(1, sequences: 3) }
        #expect(throws: KernelError.self) { _ = try law(1, sequences: 0) }
        var e = RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: 256, ep: 8, gpusPerNode: 8)
        e.gate = .roundRobin
        e.sequenceConcentration = 1
        #expect(throws: KernelError.self) { _ = try e.run() }
    }

    /// V3's gate on one node (EP 8, 2,048 tokens per GPU, one sequence each): independent
    /// tokens load the 8 GPUs within about 2% of each other; sequences that each favour their
    /// own experts (β = 0.5: an expert's per-sequence popularity varies by 140%) load them far
    /// less evenly. Every token still picks K experts, and the same seed routes identically.
    @Test("V3's gate, EP 8: shared sequence preferences unbalance the GPUs; rows are conserved")
    func imbalance() throws {
        func plan(_ beta: Double?, sequences: Int = 1) throws -> DispatchPlan {
            var e = RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: 2048, ep: 8, gpusPerNode: 8, seed: 5)
            e.sequenceConcentration = beta
            e.sequencesPerGPU = sequences
            return try e.run().plan
        }
        let independent = try plan(nil), skewed = try plan(0.5), split = try plan(0.5, sequences: 4)
        #expect(independent.maxOverMeanGPULoad < 1.03)
        #expect(skewed.maxOverMeanGPULoad > independent.maxOverMeanGPULoad + 0.05)
        // Four shorter sequences per GPU average out part of what one long one concentrates.
        #expect(split.maxOverMeanGPULoad < skewed.maxOverMeanGPULoad)
        for p in [independent, skewed, split] { #expect(p.gpuLoads.reduce(0, +) == 8 * 2048 * 8) }
        #expect(try plan(0.5).gpuLoads == skewed.gpuLoads)
    }
}
