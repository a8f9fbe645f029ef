import Foundation
import Testing
@testable import Kernels

/// The routing of DeepEP's bandwidth benchmarks (tests/test_intranode.py, test_internode.py):
/// a token's top-8 of 256 experts drawn uniformly among those of its `min(nodes, 4)` randomly
/// kept nodes. Its means have closed forms: a set of m of the N candidate experts is missed by
/// 8 draws without replacement with probability C(N − m, 8) / C(N, 8).
@Suite struct DeepEPBenchmarkGateTests {
    static func plan(ep: Int, tokens: Int = 2048, seed: UInt64 = 1) throws -> DispatchPlan {
        var e = RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: tokens, ep: ep, gpusPerNode: 8, seed: seed)
        e.gate = .deepepBenchmark
        return try e.run().plan
    }

    /// C(n − m, k) / C(n, k): the chance that k draws without replacement from n miss m.
    static func missed(_ m: Int, of n: Int, draws k: Int = 8) -> Double {
        (0..<k).reduce(1.0) { $0 * Double(n - m - $1) / Double(n - $1) }
    }

    /// (EP, nodes per token, GPUs per token) in closed form: EP8 one node, 8 GPUs of 32 experts
    /// among 256 (5.25 GPUs); EP16 both nodes kept (1.99 nodes, 6.5 GPUs of 16 experts among
    /// 256); EP64 4 of 8 nodes kept, 128 candidates (3.98 nodes; 32 GPUs of 4 experts).
    @Test(arguments: [
        (8, 1.0, 8 * (1 - missed(32, of: 256))),
        (16, 2 * (1 - missed(128, of: 256)), 16 * (1 - missed(16, of: 256))),
        (64, 4 * (1 - missed(32, of: 128)), 32 * (1 - missed(4, of: 128))),
    ])
    func meansMatchTheClosedForm(ep: Int, nodes: Double, gpus: Double) throws {
        let p = try Self.plan(ep: ep)
        #expect(abs(p.meanNodesPerToken / nodes - 1) < 0.005, "nodes \(p.meanNodesPerToken) vs \(nodes)")
        #expect(abs(p.meanGPUsPerToken / gpus - 1) < 0.005, "GPUs \(p.meanGPUsPerToken) vs \(gpus)")
        #expect(p.maxNodesPerToken == min(p.placement.nodes, 4))
        // Every row of every token lands on an expert: 8 per token.
        #expect(p.expertLoads.reduce(0, +) == 8 * 2048 * ep)
    }

    /// Same seed, same plan; another seed, another draw of the same law.
    @Test func seededAndReproducible() throws {
        let a = try Self.plan(ep: 16, tokens: 256), b = try Self.plan(ep: 16, tokens: 256)
        #expect(a.expertLoads == b.expertLoads && a.nvlinkCopies == b.nvlinkCopies)
        #expect(try Self.plan(ep: 16, tokens: 256, seed: 2).expertLoads != a.expertLoads)
    }

    /// It draws no popularity and no per-sequence preference: asking for either names the fix.
    @Test func noSkewNorSequences() throws {
        var e = RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: 256, ep: 8, gpusPerNode: 8, skew: .zipf(exponent: 1.1))
        e.gate = .deepepBenchmark
        #expect(throws: KernelError.self) { try e.run() }
        e.skew = .uniform
        e.sequenceConcentration = 1
        #expect(throws: KernelError.self) { try e.run() }
    }
}
