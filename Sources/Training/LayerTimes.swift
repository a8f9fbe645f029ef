import CostModel
import Fabric
import Kernels
import Model

/// Seconds one layer (or the stage extras) spends in each of DeepSeek's blocks, for one
/// micro-batch on the modelled (busiest) GPU: compute per block and pass, and the four
/// all-to-alls. Obtained by running the real layer code on the cost executor and pricing each
/// record; compute records issued inside the dispatch/combine blocks (permutes) count with the
/// MoE compute of their pass.
public struct LayerTimes: Sendable, Equatable, Codable {
    public var attentionForward = 0.0, mlpForward = 0.0
    public var mlpBackwardInput = 0.0, mlpBackwardWeight = 0.0
    public var attentionBackwardInput = 0.0, attentionBackwardWeight = 0.0
    /// Compute outside the layers (embedding, head, loss, MTP glue), forward / input-backward / weight.
    public var otherForward = 0.0, otherBackwardInput = 0.0, otherBackwardWeight = 0.0
    /// All-to-all seconds: forward dispatch (FP8) and combine (BF16); backward of combine
    /// (gradients dispatched, FP8) and of dispatch (gradients combined, BF16).
    public var dispatchForward = 0.0, combineForward = 0.0, combineBackward = 0.0, dispatchBackward = 0.0
    /// Tensor-parallel collectives (exposed: Megatron runs them on the critical path), forward
    /// and backward (input) seconds.
    public var tensorParallelForward = 0.0, tensorParallelBackward = 0.0
    /// Of the TP fields, the seconds the GEMMs lose beside the kernels of the collectives they
    /// hide, which hold some SMs (`TensorParallelOverlapSMs`: Transformer Engine's userbuffers,
    /// NCCL's channels); already in them, added to no duration.
    public var tensorParallelContentionForward = 0.0, tensorParallelContentionBackward = 0.0
    /// Context-parallel key/value ring exchange not hidden under the attention core
    /// (`ContextParallelRing`), forward and backward seconds.
    public var contextParallelForward = 0.0, contextParallelBackward = 0.0
    /// FSDP's per-layer parameter gathers and gradient reduce-scatters not hidden under the
    /// compute (`FullyShardedLayers`), forward and backward seconds; set per stage chunk.
    public var fullyShardedForward = 0.0, fullyShardedBackward = 0.0
    /// Of the FSDP fields, the seconds the compute loses running beside the collectives, whose
    /// kernels hold some SMs (`FullyShardedLayers`); already in them, added to no duration.
    public var fullyShardedContentionForward = 0.0, fullyShardedContentionBackward = 0.0
    /// Of the FSDP fields, the seconds of the implementation's copies on the compute stream
    /// around the collectives (`FullyShardedImplementation`); already in them, added to no
    /// duration.
    public var fullyShardedCopiesForward = 0.0, fullyShardedCopiesBackward = 0.0
    /// The compute's waits on CPU activation offloading's copies to host memory (forward) and
    /// back (backward) (`ActivationOffload`), seconds; set per stage chunk.
    public var offloadForward = 0.0, offloadBackward = 0.0
    /// GPU seconds idle waiting for the host to launch the next operation (`HostIssue`): in a
    /// forward alone, a backward alone, and an overlapped forward-and-backward pair; set per
    /// stage chunk.
    public var hostForward = 0.0, hostBackward = 0.0, hostForwardBackward = 0.0
    /// Of the compute above, the seconds that recompute the forward in the backward
    /// (activation recomputation); already in the blocks' times, added to no duration.
    public var recomputation = 0.0

    public init() {}

    /// Every field, so that sums need not name them one by one.
    static var fields: [WritableKeyPath<LayerTimes, Double>] {
        computeFields + [\.dispatchForward, \.combineForward, \.combineBackward, \.dispatchBackward, \.tensorParallelForward, \.tensorParallelBackward,
                         \.tensorParallelContentionForward, \.tensorParallelContentionBackward,
                         \.contextParallelForward, \.contextParallelBackward, \.fullyShardedForward, \.fullyShardedBackward,
                         \.fullyShardedContentionForward, \.fullyShardedContentionBackward,
                         \.fullyShardedCopiesForward, \.fullyShardedCopiesBackward, \.offloadForward, \.offloadBackward,
                         \.hostForward, \.hostBackward, \.hostForwardBackward]
    }

    public static func + (a: LayerTimes, b: LayerTimes) -> LayerTimes {
        var r = a
        for f in fields { r[keyPath: f] += b[keyPath: f] }
        return r
    }

    public static func - (a: LayerTimes, b: LayerTimes) -> LayerTimes {
        var r = a
        for f in fields { r[keyPath: f] -= b[keyPath: f] }
        return r
    }

    public static func * (a: LayerTimes, k: Double) -> LayerTimes {
        var r = a
        for f in fields { r[keyPath: f] *= k }
        return r
    }

    /// These times with every compute block `k` times as long (a slower GPU); the all-to-alls
    /// and the tensor-, context- and data-parallel exchanges keep theirs.
    public func computeScaled(by k: Double) -> LayerTimes {
        var r = self
        for f in Self.computeFields { r[keyPath: f] *= k }
        return r
    }

    /// The compute fields (every field but the all-to-alls, TP collectives, CP ring, FSDP and
    /// host waits), and the recomputation share of them.
    static var computeFields: [WritableKeyPath<LayerTimes, Double>] { [
        \.attentionForward, \.mlpForward, \.mlpBackwardInput, \.mlpBackwardWeight, \.attentionBackwardInput,
        \.attentionBackwardWeight, \.otherForward, \.otherBackwardInput, \.otherBackwardWeight, \.recomputation,
    ] }

    /// Forward alone: blocks in sequence, all-to-alls exposed.
    public var forward: Double {
        attentionForward + dispatchForward + mlpForward + combineForward + otherForward + tensorParallelForward + contextParallelForward
            + fullyShardedForward + offloadForward + hostForward
    }
    /// Weight backward alone.
    public var weight: Double { mlpBackwardWeight + attentionBackwardWeight + otherBackwardWeight }
    /// Full backward alone (inputs and weights), all-to-alls exposed.
    public var backward: Double {
        combineBackward + mlpBackwardInput + dispatchBackward + attentionBackwardInput + otherBackwardInput + weight + tensorParallelBackward
            + contextParallelBackward + fullyShardedBackward + offloadBackward + hostBackward
    }
    /// Fraction of a stand-alone backward during which the NIC carries its all-to-alls (what a
    /// gradient reduce-scatter overlapping the drain cannot use); 0 without a backward.
    public var backwardAllToAllShare: Double { backward > 0 ? (combineBackward + dispatchBackward) / backward : 0 }
    /// Compute-only time of a forward (its blocks, without exchanges or waits).
    public var forwardCompute: Double { attentionForward + mlpForward + otherForward }
    /// Compute-only time of a full backward (inputs, weights and any recomputation).
    public var backwardCompute: Double { compute - forwardCompute }
    /// Compute-only time of a forward plus a full backward.
    public var compute: Double {
        attentionForward + mlpForward + mlpBackwardInput + mlpBackwardWeight + attentionBackwardInput + attentionBackwardWeight
            + otherForward + otherBackwardInput + otherBackwardWeight
    }

    /// A forward chunk overlapped with a backward chunk of the same shape, DeepSeek's order per
    /// layer pair (V3 report Fig. 4; the trace): combine(B) ‖ attn(F); mlp(B) ‖ dispatch(F);
    /// dispatch(B) ‖ mlp(W) + mlp(F); attn(B) + attn(W) ‖ combine(F). Each slot lasts the longer
    /// of its compute and its communication. Work outside the layers is not overlapped; the
    /// host's launches of both chunks can outlast the pair (`hostForwardBackward`).
    public var overlappedForwardBackward: Double {
        overlapSlotSum + otherForward + otherBackwardInput + otherBackwardWeight + tensorParallelForward + tensorParallelBackward
            + contextParallelForward + contextParallelBackward + fullyShardedForward + fullyShardedBackward + offloadForward + offloadBackward
            + hostForwardBackward
    }

    /// The four slots' time: each the longer of its compute and its communication, seconds.
    var overlapSlotSum: Double { overlapSlots.reduce(0) { $0 + max($1.compute, $1.communication) } }

    /// The four slots of an overlapped pair in DeepSeek's order (`overlappedForwardBackward`):
    /// each slot's compute and the all-to-all that runs beside it, seconds.
    var overlapSlots: [(compute: Double, communication: Double)] { [
        (attentionForward, combineBackward), (mlpBackwardInput, dispatchForward),
        (mlpBackwardWeight + mlpForward, dispatchBackward), (attentionBackwardInput + attentionBackwardWeight, combineForward),
    ] }

    /// Seconds of one cost-executor record: tokens out to the experts (the dispatch, and the
    /// combine's backward) at `dispatchTime` (FP8), back (the combine, and the dispatch's
    /// backward) at `combineTime` (BF16), everything else by the kernel cost model.
    public static func seconds(_ r: OperationRecord, kernels: KernelCostModel, dispatchTime: Double, combineTime: Double) -> Double {
        switch r.kind {
        case .dispatch: dispatchTime
        case .combine: combineTime
        default: kernels.duration(r)
        }
    }

    /// Prices cost-executor records (`seconds(_:kernels:dispatchTime:combineTime:)`) into the
    /// blocks they belong to.
    public static func price(_ records: [OperationRecord], kernels: KernelCostModel, dispatchTime: Double, combineTime: Double) -> LayerTimes {
        var t = LayerTimes()
        for r in records {
            let d = seconds(r, kernels: kernels, dispatchTime: dispatchTime, combineTime: combineTime)
            if r.kind.isCommunication {
                switch (r.block, r.pass) {
                case (.dispatch, .forward): t.dispatchForward += d
                case (.combine, .forward): t.combineForward += d
                case (.combine, _): t.combineBackward += d
                default: t.dispatchBackward += d
                }
                continue
            }
            if r.recompute { t.recomputation += d }
            switch (r.block, r.pass) {
            case (.attention, .forward): t.attentionForward += d
            case (.mlp, .forward), (.dispatch, .forward), (.combine, .forward): t.mlpForward += d
            case (.mlp, .backwardInput), (.dispatch, .backwardInput), (.combine, .backwardInput): t.mlpBackwardInput += d
            case (.mlp, .backwardWeight), (.dispatch, .backwardWeight), (.combine, .backwardWeight): t.mlpBackwardWeight += d
            case (.attention, .backwardInput): t.attentionBackwardInput += d
            case (.attention, .backwardWeight): t.attentionBackwardWeight += d
            case (_, .forward): t.otherForward += d
            case (_, .backwardInput): t.otherBackwardInput += d
            case (_, .backwardWeight): t.otherBackwardWeight += d
            }
        }
        return t
    }
}
