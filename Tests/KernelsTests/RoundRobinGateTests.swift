import Testing
@testable import Kernels

/// NeMo AutoModel's benchmark gate (`FakeBalancedGate`): token t takes experts tK … tK + K − 1
/// modulo E.
@Suite struct RoundRobinGateTests {
    static func plan(ep: Int, tokens: Int = 1024, skew: ExpertSkew = .uniform) throws -> DispatchPlan {
        var e = RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: tokens, ep: ep, gpusPerNode: 8, skew: skew)
        e.gate = .roundRobin
        return try e.run().plan
    }

    /// V3's 256 experts on EP 64 (4 per GPU): each token's 8 experts are 2 neighbouring GPUs of
    /// one node, the nodes taken in turn, so 7 of 8 tokens cross IB exactly once; every expert
    /// receives the same rows (1,024 × 8 × 64 / 256 = 2,048).
    @Test func neighbouringExpertsOneNode() throws {
        let p = try Self.plan(ep: 64)
        #expect(p.meanGPUsPerToken == 2 && p.maxNodesPerToken == 1 && p.meanIBCopiesPerToken == 0.875)
        #expect(Set(p.expertLoads) == [2048])
        #expect(p.maxOverMeanGPULoad == 1)
    }

    /// It has no popularity to skew: asking for one is an error naming the fix.
    @Test func noSkew() throws {
        #expect(throws: KernelError.self) { try Self.plan(ep: 8, skew: .zipf(exponent: 1.1)) }
    }
}
