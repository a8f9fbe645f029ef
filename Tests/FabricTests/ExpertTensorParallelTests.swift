import Foundation
import Hardware
@testable import Kernels
import Testing
@testable import Fabric

/// Expert tensor parallelism (Megatron-Core's `--expert-tensor-parallel-size`): each expert's
/// width split over consecutive GPUs. The group is then the TP × EP group; a token choosing an
/// expert reaches every GPU holding a slice of it, over DeepEP in one all-to-all, or over NCCL
/// in an all-to-all among the GPUs of one slice index followed by an all-gather over the
/// expert-TP group.
@Suite struct ExpertTensorParallelDispatchTests {
    /// EP 4 × expert-TP 2 = 8 GPUs on one node, V3's gate (256 experts, top-8).
    static func plan(tokens: Int = 512) throws -> DispatchPlan {
        var experiment = RoutingExperiment(router: .deepSeekV3, hidden: 7168, tokensPerGPU: tokens, ep: 4, gpusPerNode: 8, seed: 3)
        experiment.expertTensorParallel = 2
        return try experiment.run().plan
    }

    /// The slices of a router expert are numbered GPU by GPU: with 16 experts on EP 4 (4 per
    /// EP rank) and expert-TP 2, expert 0 (EP rank 0, local 0) lives on GPUs 0 and 1 as slices
    /// 0 and 4; expert 5 (EP rank 1, local 1) on GPUs 2 and 3 as slices 9 and 13.
    @Test func slicesAreNumberedGPUByGPU() throws {
        let p = try ExpertPlacement(experts: 32, ep: 8, gpusPerNode: 8, tensorParallel: 2)
        #expect(p.expertsPerGPU == 4)
        let routing = Routing(tokens: 1, topK: 2, experts: [0, 5], weights: [])
        let split = routing.splittingExperts(over: p)
        #expect(split.topK == 4 && split.experts == [0, 4, 9, 13])
        #expect(split.experts.map { p.gpu(ofExpert: Int($0)) } == [0, 1, 2, 3])
    }

    /// Every GPU of the 8 routes its 512 tokens; each chosen expert reaches both of its slices,
    /// so the group's rows are 8 × 512 × 8 × 2 and the two GPUs of an expert-TP pair receive
    /// the same rows. The gate's bias sees the router's 256 experts, each row once.
    @Test func everySliceReceivesItsExpertsRows() throws {
        let plan = try Self.plan()
        let loads = plan.gpuLoads
        #expect(loads.count == 8 && loads.reduce(0, +) == 8 * 512 * 8 * 2)
        for r in 0..<4 { #expect(loads[2 * r] == loads[2 * r + 1]) }
        #expect(plan.routerExpertLoads.count == 256 && plan.routerExpertLoads.reduce(0, +) == 8 * 512 * 8)
    }

    /// NCCL's path: the all-to-all moves rows only between GPUs of one slice index; the
    /// all-gather brings each GPU the rows its expert-TP peer received. Together they deliver
    /// exactly each GPU's rows.
    @Test func allToAllThenGatherDeliverEveryRow() throws {
        let plan = try Self.plan(), p = plan.placement
        let (nic, nvlink) = plan.portCopies(.alltoall)
        #expect(nic.joined().allSatisfy { $0 == 0 })          // one node
        for s in 0..<8 { for d in 0..<8 where nvlink[s][d] > 0 { #expect(p.sliceIndex(ofGPU: s) == p.sliceIndex(ofGPU: d)) } }
        let gather = plan.tensorParallelGather
        for d in 0..<8 {
            let sameSlice = (0..<8).filter { p.sliceIndex(ofGPU: $0) == p.sliceIndex(ofGPU: d) }.reduce(0) { $0 + plan.expertRows[$1][d] }
            let gathered = (0..<8).reduce(0) { $0 + gather[$1][d] }
            #expect(sameSlice + gathered == plan.gpuLoads[d])
            // Only the expert-TP peer sends in the gather.
            for s in 0..<8 where gather[s][d] > 0 { #expect(s / 2 == d / 2 && s != d) }
        }
    }

    /// The all-gather is a second phase after the all-to-all (NCCL), so it adds time; DeepEP
    /// sends each slice its copy in one all-to-all over the TP × EP group.
    @Test func theGatherIsASecondPhase() throws {
        let plan = try Self.plan()
        let node = try HardwareCatalog.builtIn().node("HGX-H100-8GPU")
        func a2a(_ d: MoEDispatcher) -> MoEAllToAll {
            MoEAllToAll(node: node, communicationSMs: 20, hopLatency: Topology.defaultLatency, dispatchFormat: .bf16, dispatcher: d)
        }
        #expect(plan.portCopyPhases(.alltoall).count == 2 && plan.portCopyPhases(.deepep).count == 1)
        let both = try a2a(.alltoall).times(plan, hidden: 7168)
        let (net, flows) = try a2a(.alltoall).network(plan.portCopies(.alltoall), ep: 8, nodes: 1, kind: .dispatch, copyBytes: 14336)
        let allToAllOnly = net.run(flows).max() ?? 0
        #expect(both.dispatch > 1.3 * allToAllOnly, "\(both.dispatch) vs \(allToAllOnly)")
        #expect(try a2a(.alltoall).run(plan, kind: .dispatch, hidden: 7168).timeS == both.dispatch)
    }
}
