import CostModel
import Kernels

/// How a tensor-parallel group's collectives meet the compute (Megatron-LM).
public enum TensorParallelOverlap: String, Sendable, CaseIterable, Codable {
    /// Every collective on the critical path (Megatron-LM 2021, as Narayanan et al. SC'21 ran).
    case none
    /// The input gradient of a column-parallel linear (Q/K/V or MLA's up-projections, the dense
    /// FFN's gate and up, the vocabulary-parallel head) is all-reduced — reduce-scattered with
    /// sequence parallelism — while that linear's weight-gradient GEMM runs: Megatron-LM's
    /// asynchronous tensor-parallel all-reduce, on by default since 2022 (Korthikanti et al.
    /// 2022 §6.2: "we overlap all-reduce communication with the linear weight's gradient
    /// computation"). With sequence parallelism the linear saved only its 1/TP slice of the
    /// input, and the backward all-gathers it again while the input-gradient GEMM runs
    /// (Megatron-LM's `LinearWithGradAccumulationAndAsyncCommunication`). The forward's
    /// collectives, the row-parallel linears' backward all-gathers and a full recomputation's
    /// forward collectives stay exposed.
    case backward

    /// The column-parallel linears' weights (record names end in `.<weight>.wgrad` and
    /// `.<weight>.dgrad`): their input gradient is reduced over the TP group in the backward.
    static let columnParallelWeights = ["wq", "wk", "wv", "wq_b", "wkv_b", "ffn.up", "head"]

    /// Seconds of the column-parallel linears' GEMMs of one block in the backward: the windows
    /// its backward collectives can hide under.
    struct Window: Equatable {
        /// Weight-gradient GEMMs (under which the input gradient is reduced).
        var weightGradient = 0.0
        /// Input-gradient GEMMs (under which sequence parallelism re-gathers the saved input).
        var inputGradient = 0.0
    }

    /// The column-parallel windows of `records`, by block (attention, MLP, and the rest: the
    /// vocabulary-parallel head).
    static func windows(_ records: [OperationRecord], kernels: KernelCostModel) -> (attention: Window, mlp: Window, other: Window) {
        var w = (attention: Window(), mlp: Window(), other: Window())
        for r in records {
            let path: WritableKeyPath<Window, Double>
            switch r.pass {
            case .backwardWeight: path = \.weightGradient
            case .backwardInput: path = \.inputGradient
            default: continue
            }
            let suffix = r.pass == .backwardWeight ? "wgrad" : "dgrad"
            guard columnParallelWeights.contains(where: { r.name.hasSuffix(".\($0).\(suffix)") }) else { continue }
            switch r.block {
            case .attention: w.attention[keyPath: path] += kernels.duration(r)
            case .mlp: w.mlp[keyPath: path] += kernels.duration(r)
            default: w.other[keyPath: path] += kernels.duration(r)
            }
        }
        return w
    }

    /// Seconds a backward collective of `seconds` adds to the critical path when the GEMMs it
    /// can hide under take `window` seconds.
    func exposed(_ seconds: Double, window: Double) -> Double { self == .none ? seconds : max(0, seconds - window) }
}

/// The seconds a micro-batch's tensor-parallel collectives add to the critical path, per
/// block, in Megatron-LM's placement (Shoeybi et al. 2019 Fig. 3; with sequence parallelism
/// Korthikanti et al. 2022 Fig. 5 and §4.2.2). Every collective moves one micro-batch's BF16
/// activations (tokens × hidden) over the TP group; `half` is one ring reduce-scatter or
/// all-gather of them, an all-reduce two.
///
/// A block (attention, or a dense FFN) is column-parallel linears followed by a row-parallel
/// one. Without sequence parallelism the forward all-reduces the row-parallel output and the
/// backward the column-parallel input gradient. With it the forward all-gathers the
/// column-parallel input and reduce-scatters the row-parallel output; the backward
/// all-gathers the row-parallel output gradient (exposed: the linear's GEMMs need it),
/// reduce-scatters the column-parallel input gradient and all-gathers the saved input slice
/// again for the weight gradient — three halves where the all-reduce was two, which is why
/// the paper's backward gains only 0.1 ms from sequence parallelism where the forward gains
/// 0.5 ms (Table 4, 22B layer: "reduce-scatter and all-gather combined is slower than an
/// all-reduce alone").
struct TensorParallelCollectives {
    var half: Double
    var sequenceParallel: Bool
    var overlap: TensorParallelOverlap

    /// A block's forward: an all-reduce, or an all-gather and a reduce-scatter.
    var blockForward: Double { 2 * half }

    /// A block's backward, the column-parallel linears' GEMMs taking `window`: theirs
    /// (`columnParallelBackward`), and with sequence parallelism the row-parallel linear's
    /// output-gradient all-gather, exposed.
    func blockBackward(window: TensorParallelOverlap.Window) -> Double {
        (sequenceParallel ? half : 0) + columnParallelBackward(window: window)
    }

    /// The backward collectives of column-parallel linears whose GEMMs take `window`: the input
    /// gradient all-reduced under the weight gradient, or with sequence parallelism
    /// reduce-scattered under it and the saved input slice re-gathered under the input gradient.
    func columnParallelBackward(window: TensorParallelOverlap.Window) -> Double {
        guard sequenceParallel else { return overlap.exposed(2 * half, window: window.weightGradient) }
        return overlap.exposed(half, window: window.weightGradient) + overlap.exposed(half, window: window.inputGradient)
    }

    /// The vocabulary-parallel embedding's forward: its partial outputs all-reduced
    /// (reduce-scattered with sequence parallelism).
    var embeddingForward: Double { sequenceParallel ? half : 2 * half }
    /// Its backward: with sequence parallelism the output gradient is all-gathered for the
    /// embedding's weight gradient; without it nothing moves.
    var embeddingBackward: Double { sequenceParallel ? half : 0 }
    /// The vocabulary-parallel head's forward: with sequence parallelism the input is
    /// all-gathered; without it the input is already whole. Its backward is a column-parallel
    /// linear's with no row-parallel one after it (`columnParallelBackward`).
    var headForward: Double { sequenceParallel ? half : 0 }
}
