import CostModel
import Kernels

/// Megatron-Core's `--moe-shared-expert-overlap` with its all-to-all dispatcher: the shared
/// experts run on a side stream beside the dispatcher's communication. In the forward their
/// first linear (and its TP all-gather) runs while the dispatch all-to-all moves the tokens and
/// their second linear (and its reduce-scatter) while the combine does; the backward mirrors
/// it. The layer's critical path keeps the all-to-alls and only what of the shared block
/// outlasts them. Megatron does not support it with DeepEP, whose kernels take the SMs.
///
/// The shared block is its GEMMs (records named `.shared.`) and its TP collectives; its
/// activation, one element-wise kernel among the routed experts' of the same name, stays on
/// the critical path (an approximation: a few per cent of the shared block).
struct SharedExpertOverlap {
    let kernels: KernelCostModel

    /// Seconds of the shared experts' GEMMs in each pass.
    func sharedGEMMs(_ records: [OperationRecord]) -> (forward: Double, backwardInput: Double, backwardWeight: Double) {
        var s = (forward: 0.0, backwardInput: 0.0, backwardWeight: 0.0)
        for r in records where r.name.contains(".shared.") && (r.kind == .gemm || r.kind == .groupedGemm) {
            let d = kernels.duration(r)
            switch r.pass {
            case .forward: s.forward += d
            case .backwardInput: s.backwardInput += d
            case .backwardWeight: s.backwardWeight += d
            }
        }
        return s
    }

    /// Moves the shared block of an MoE layer beside its all-to-alls: its GEMMs leave the
    /// layer's MLP time, its TP collectives (`forwardCollectives`, `backwardCollectives`, not
    /// yet in `t`) are not added, and what of them outlasts the dispatch and combine of the same
    /// pass is added back to the MLP time.
    func apply(_ t: inout LayerTimes, records: [OperationRecord], forwardCollectives: Double, backwardCollectives: Double) {
        let s = sharedGEMMs(records)
        let forwardExcess = max(0, s.forward + forwardCollectives - (t.dispatchForward + t.combineForward))
        t.mlpForward += forwardExcess - s.forward
        let backwardExcess = max(0, s.backwardInput + s.backwardWeight + backwardCollectives - (t.dispatchBackward + t.combineBackward))
        t.mlpBackwardInput += backwardExcess - s.backwardInput
        t.mlpBackwardWeight -= s.backwardWeight
    }
}
