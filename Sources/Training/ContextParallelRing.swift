import CostModel
import Fabric
import Hardware
import Kernels
import Model

/// The key/value exchange of context-parallel attention and what of it shows: Transformer
/// Engine's peer-to-peer ring (`AttnFuncWithCPAndKVP2P`, Megatron-LM's default `cp_comm_type`).
/// Each GPU of a CP group holds its own block of keys and values (its two chunks of the
/// sequence). The forward runs CP steps: step 0 attends to the local block while the block is
/// sent to the next GPU and the previous GPU's arrives; step j attends to the block received
/// in step j − 1 while passing it on. A step can start when its block has arrived and the step
/// before has finished, so step j + 1 starts `max(compute_j, transfer)` after step j: what
/// shows is `Σ_{j < CP−1} max(0, transfer − compute_j)`. The backward passes the same blocks
/// together with the partial key/value gradients (twice the bytes per step), and the last
/// partial gradient goes home after the last step, on the critical path (the input gradient of
/// the K and V projections waits for it).
public struct ContextParallelRing: Sendable, Equatable {
    /// Seconds to move one key/value block (or its gradient) to the next GPU of the group.
    public var transfer: Double
    /// GPUs in the group.
    public var group: Int

    public init(transfer: Double, group: Int) { self.transfer = transfer; self.group = group }

    /// The ring of `config`: the K and V of the GPU's tokens of one micro-batch (BF16; GQA's
    /// K/V heads of the TP shard, or MLA's per-head keys and values, which Transformer Engine
    /// exchanges after the up-projection), over NVLink when the TP × CP GPUs share a node's
    /// NVLink domain (ranks are laid out TP first, then CP), else over the GPU's NIC share.
    public init(config c: StepConfiguration) {
        let a = c.layerModel.attention
        let bytes = Double(c.gpuTokens * a.keyValueHeads * (a.qkHeadDim + a.vHeadDim) * 2)
        let node = c.topology.node
        let inNode = c.tp * c.cp <= c.topology.scaleUpDomainGPUs
        transfer = c.cp > 1
            ? Collective.pointToPoint(bytes: bytes, bandwidth: inNode ? node.device.scaleUpAchievableBandwidth : node.nicAchievableBandwidthPerGPU,
                                      latency: inNode ? c.topology.latency.scaleUp : c.topology.interNodeLatency)
            : 0
        group = c.cp
    }

    /// Exposed seconds of a forward whose ring steps compute for `steps` seconds each (the
    /// local step first).
    public func forwardExposed(steps: [Double]) -> Double { group > 1 ? exposed(steps: steps, transfer: transfer) : 0 }

    /// Exposed seconds of a backward whose ring steps compute for `steps` seconds each: blocks
    /// and gradients move together, and the last gradient returns after the last step.
    public func backwardExposed(steps: [Double]) -> Double {
        group > 1 ? exposed(steps: steps, transfer: 2 * transfer) + transfer : 0
    }

    /// `Σ_{j < last} max(0, x − steps_j)`: each step but the last hides the next block's transfer.
    private func exposed(steps: [Double], transfer x: Double) -> Double {
        steps.dropLast().reduce(0) { $0 + max(0, x - $1) }
    }

    /// The ring steps of one layer's attention core in `records`: the forward's and the
    /// backward's, seconds each, in ring order (the local call first, then `.ring` calls).
    /// Recomputed cores (selective recomputation) are not part of the backward's steps: they
    /// run before it, with their own forward ring, which is priced like the forward's.
    static func steps(_ records: [OperationRecord], kernels: KernelCostModel) -> (forward: [Double], backward: [Double], recomputed: [Double]) {
        var s = (forward: [Double](), backward: [Double](), recomputed: [Double]())
        for r in records where r.kind == .attention || r.kind == .attentionBackward {
            let d = kernels.duration(r)
            if r.kind == .attentionBackward { s.backward.append(d) }
            else if r.pass == .forward { s.forward.append(d) }
            else { s.recomputed.append(d) }
        }
        return s
    }

    /// One layer's exposed ring time, forward and backward seconds (a recomputed core adds its
    /// forward ring to the backward).
    func layer(_ records: [OperationRecord], kernels: KernelCostModel) -> (forward: Double, backward: Double) {
        guard group > 1 else { return (0, 0) }
        let s = Self.steps(records, kernels: kernels)
        return (forwardExposed(steps: s.forward), backwardExposed(steps: s.backward) + (s.recomputed.isEmpty ? 0 : forwardExposed(steps: s.recomputed)))
    }
}
