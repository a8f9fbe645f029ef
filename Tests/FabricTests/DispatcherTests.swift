import Foundation
import Hardware
import Kernels
import Testing
@testable import Fabric

/// Megatron-LM's all-to-all dispatcher against DeepEP on the same routing: one row per (token,
/// chosen expert) with no deduplication, straight to the expert's GPU (PXN across nodes).
@Suite struct AllToAllDispatcherTests {
    static func plan(ep: Int, tokens: Int = 1024) throws -> DispatchPlan {
        try RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: tokens, ep: ep, gpusPerNode: 8, seed: 1).run().plan
    }
    /// DeepEP at its saturation SMs (its benchmarks'), so that both dispatchers move bytes at the links' rates.
    static func run(_ plan: DispatchPlan, _ dispatcher: MoEDispatcher, node: String = "HGX-H800-8GPU") throws -> MoEAllToAll.Result {
        try MoEAllToAll(node: try HardwareCatalog.builtIn().node(node), communicationSMs: MoEAllToAll.benchmarkSMs, hopLatency: Topology.defaultLatency,
                        dispatchFormat: .bf16, dispatcher: dispatcher).run(plan, kind: .dispatch, hidden: 7168)
    }

    /// Every token sends one row per chosen expert: V3's 8 of 256 experts, so the rows of a GPU
    /// of an EP 64 group add up to 8 × its tokens, and 7 of 8 of them leave its node (56 of its
    /// 64 destinations are elsewhere). The busiest NIC sends about 7 rows per token, where
    /// DeepEP's deduplicated copies need fewer than 3.5: the all-to-all takes about twice as long.
    @Test func rowsPerChosenExpertWithoutDeduplication() throws {
        let plan = try Self.plan(ep: 64)
        for row in plan.expertRows { #expect(row.reduce(0, +) == 8 * 1024) }
        #expect(plan.expertRows.joined().reduce(0, +) == plan.expertLoads.reduce(0, +))
        let nccl = try Self.run(plan, .alltoall), deepEP = try Self.run(plan, .deepep)
        let rowsPerToken = nccl.ibBytesPerGpuMax / (1024 * 14336)
        #expect(rowsPerToken > 6.8 && rowsPerToken < 7.6, "\(rowsPerToken)")
        #expect(plan.meanIBCopiesPerToken < 3.5)
        #expect(nccl.timeS / deepEP.timeS > 1.8 && nccl.timeS / deepEP.timeS < 2.3, "\(nccl.timeS / deepEP.timeS)")
    }

    /// Inside one node nothing crosses a NIC, and NVLink carries 7 of each token's 8 rows
    /// (DeepEP: one copy per distinct GPU other than the source's, fewer).
    @Test func insideANodeOnlyNVLink() throws {
        let plan = try Self.plan(ep: 8)
        let nccl = try Self.run(plan, .alltoall, node: "HGX-H100-8GPU"), deepEP = try Self.run(plan, .deepep, node: "HGX-H100-8GPU")
        #expect(nccl.ibBytesPerGpuMax == 0 && nccl.bottleneck == "NVLink")
        #expect(nccl.nvlinkBytesPerGpuMax > 1.2 * deepEP.nvlinkBytesPerGpuMax)
        #expect(nccl.timeS > deepEP.timeS)
    }

    /// Combine retraces the all-to-all's relayed paths in reverse, so `times` may mirror it from
    /// the dispatch as it does DeepEP's (BF16 both ways: the same time, to the event grid).
    @Test func combineMirrorsTheRelayedPaths() throws {
        let plan = try Self.plan(ep: 16, tokens: 256)
        let a2a = MoEAllToAll(node: try HardwareCatalog.builtIn().node("HGX-H800-8GPU"), communicationSMs: 20, hopLatency: Topology.defaultLatency,
                              dispatchFormat: .bf16, dispatcher: .alltoall)
        let both = try a2a.times(plan, hidden: 7168)
        #expect(abs(both.combine - (try a2a.run(plan, kind: .combine, hidden: 7168)).timeS) < 1e-12 * 256)
        #expect(abs(both.dispatch - both.combine) < 1e-12 * 256)
    }

    /// NCCL's channels are its own: fewer communication SMs slow DeepEP, not the all-to-all.
    @Test func communicationSMsDoNotScaleNCCL() throws {
        let plan = try Self.plan(ep: 16, tokens: 256)
        let node = try HardwareCatalog.builtIn().node("HGX-H800-8GPU")
        func time(_ sms: Int) throws -> Double {
            try MoEAllToAll(node: node, communicationSMs: sms, hopLatency: Topology.defaultLatency, dispatcher: .alltoall).run(plan, kind: .dispatch, hidden: 7168).timeS
        }
        #expect(try time(5) == time(20))
    }
}
