import Testing
@testable import Kernels

@Suite struct EPLBTests {
    static let readmeLoads: [[Double]] = [[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
                                          [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]]

    /// deepseek-ai/EPLB README example: 2 layers × 12 experts, 16 replicas, 4 groups, 2 nodes,
    /// 8 GPUs.
    @Test("EPLB README example: exact physical-to-logical map")
    func readmeExample() throws {
        let r = try EPLB.rebalance(loads: Self.readmeLoads, replicas: 16, groups: 4, nodes: 2, gpus: 8)
        #expect(r.phy2log == [[5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1],
                              [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1]])
        for l in 0..<2 {
            #expect(r.logcnt[l].reduce(0, +) == 16)
            for (slot, e) in r.phy2log[l].enumerated() { #expect(r.log2phy[l][e].contains(slot)) }
        }
    }

    @Test func globalPolicyWhenNodesDoNotDivideGroups() throws {
        let r = try EPLB.rebalance(loads: Self.readmeLoads, replicas: 15, groups: 4, nodes: 3, gpus: 3)
        #expect(r.phy2log[0].count == 15)
        #expect(r.logcnt[0][10] >= 2)            // the heaviest expert (183) is replicated
    }

    @Test func badArgumentsAreRejected() {
        #expect(throws: KernelError.self) { try EPLB.rebalance(loads: Self.readmeLoads, replicas: 10, groups: 4, nodes: 2, gpus: 8) }
        #expect(throws: KernelError.self) { try EPLB.rebalance(loads: Self.readmeLoads, replicas: 16, groups: 5, nodes: 2, gpus: 8) }
        #expect(throws: KernelError.self) { try EPLB.rebalance(loads: Self.readmeLoads, replicas: 16, groups: 4, nodes: 3, gpus: 8) }
        #expect(throws: KernelError.self) { try EPLB.rebalance(loads: [[1, 2], [1]], replicas: 4, groups: 1, nodes: 1, gpus: 2) }
        #expect(throws: KernelError.self) { try EPLB.rebalance(loads: [[1, -2]], replicas: 4, groups: 1, nodes: 1, gpus: 2) }
    }
}
