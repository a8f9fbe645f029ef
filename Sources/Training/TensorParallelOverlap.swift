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
    /// `backward`, and every collective that feeds or drains a GEMM split into TP chunks and
    /// pipelined with it, chunk i's GEMM running while chunk i+1 moves: the forward's
    /// all-gather with the column-parallel linears, its reduce-scatter with the row-parallel
    /// one, and the backward's all-gather of the row-parallel output gradient with that
    /// linear's input-gradient GEMM — Transformer Engine's userbuffers (Megatron-LM and NeMo's
    /// `tp_comm_overlap`, on in NeMo's H100 recipes; the decomposition of Wang et al., ASPLOS
    /// 2023). Needs sequence parallelism. The embedding's reduce-scatter feeds no GEMM and
    /// stays exposed. The all-gathers move on the copy engines; the reduce-scatters' and the
    /// backward's kernels hold SMs the GEMMs beside them lose (`TensorParallelOverlapSMs`).
    case pipelined

    /// The column-parallel linears' weights (record names end in `.<weight>.wgrad` and
    /// `.<weight>.dgrad`): their input gradient is reduced over the TP group in the backward.
    static let columnParallelWeights = ["wq", "wk", "wv", "wq_b", "wkv_b", "ffn.up", "shared.up", "head"]
    /// The row-parallel linears' weights: their output is reduced over the TP group in the
    /// forward, and their output gradient gathered in the backward.
    static let rowParallelWeights = ["wo", "ffn.down", "shared.down"]

    /// Seconds of one block's tensor-parallel GEMMs: the windows its collectives can hide under.
    struct Window: Equatable {
        /// Column-parallel weight-gradient GEMMs (under which the input gradient is reduced).
        var weightGradient = 0.0
        /// Column-parallel input-gradient GEMMs (under which sequence parallelism re-gathers
        /// the saved input).
        var inputGradient = 0.0
        /// Column-parallel forward GEMMs (which consume the forward's all-gather).
        var columnForward = 0.0
        /// Row-parallel forward GEMMs (which produce the forward's reduce-scatter).
        var rowForward = 0.0
        /// Row-parallel input-gradient GEMMs (which consume the output gradient's all-gather).
        var rowInputGradient = 0.0
    }

    /// A block's windows on every SM (`full`), and with each GEMM on the SMs its collective's
    /// kernel leaves (`slowed`: `full` where no kernel holds any).
    struct Windows: Equatable {
        var full: Window, slowed: Window
        init(_ full: Window, slowed: Window? = nil) { (self.full, self.slowed) = (full, slowed ?? full) }
    }

    /// The windows of `records`, by block (attention, MLP, and the rest: the
    /// vocabulary-parallel head). A full recomputation's forward GEMMs (named `fprop`, run in
    /// the backward) are not windows of the forward.
    static func windows(_ records: [OperationRecord], kernels: KernelCostModel) -> (attention: Window, mlp: Window, other: Window) {
        var w = (attention: Window(), mlp: Window(), other: Window())
        for r in records {
            let suffix: String, column: WritableKeyPath<Window, Double>, row: WritableKeyPath<Window, Double>?
            switch r.pass {
            case .forward: (suffix, column, row) = ("fprop", \.columnForward, \.rowForward)
            case .backwardInput: (suffix, column, row) = ("dgrad", \.inputGradient, \.rowInputGradient)
            case .backwardWeight: (suffix, column, row) = ("wgrad", \.weightGradient, nil)
            }
            let isOne = { (weights: [String]) in weights.contains { r.name.hasSuffix(".\($0).\(suffix)") } }
            guard let path = isOne(columnParallelWeights) ? column : isOne(rowParallelWeights) ? row : nil else { continue }
            switch r.block {
            case .attention: w.attention[keyPath: path] += kernels.duration(r)
            case .mlp: w.mlp[keyPath: path] += kernels.duration(r)
            default: w.other[keyPath: path] += kernels.duration(r)
            }
        }
        return w
    }

    /// What a backward collective of `seconds` adds to the critical path beside GEMMs that take
    /// `window` seconds on every SM and `slowed` on those its kernel leaves (`window` when it
    /// holds none): the GEMMs go at `window / slowed` of their pace while it runs, so they lose
    /// `min(seconds, slowed) · (1 − window / slowed)` and the collective shows past them by
    /// `max(0, seconds − slowed)`.
    func exposed(_ seconds: Double, window: Double, slowed: Double) -> TensorParallelTime {
        guard self != .none else { return TensorParallelTime(exposed: seconds) }
        let lost = slowed > window ? min(seconds, slowed) * (1 - window / slowed) : 0
        return TensorParallelTime(exposed: max(0, seconds - slowed), contention: lost)
    }

    /// Seconds a collective of `seconds` over `group` GPUs adds to a GEMM of `gemm` seconds it
    /// feeds or drains when both are split into `group` chunks and pipelined (`pipelined`;
    /// otherwise the whole collective): a ring moves `group − 1` chunks, each of
    /// `seconds / (group − 1)`, each beside one of the GEMM's chunks but the first (an
    /// all-gather starts on the local chunk) or the last (a reduce-scatter ends on the rank's
    /// own), so the pair takes `gemm/group + (group − 1)·max(gemm/group, seconds/(group − 1))`
    /// and the collective adds `max(0, seconds − gemm·(group − 1)/group)`.
    func pipelinedExposed(_ seconds: Double, gemm: Double, group: Int) -> Double {
        guard self == .pipelined, group > 1 else { return seconds }
        return max(0, seconds - gemm * Double(group - 1) / Double(group))
    }

    /// `pipelinedExposed` for a GEMM of `gemm` seconds on every SM that runs its whole length on
    /// the SMs the collective's kernel leaves, taking `slowed` (Transformer Engine's
    /// `set_sm_margin`): the GEMM loses `slowed − gemm`, and the collective hides under the
    /// slower GEMM.
    func pipelinedExposed(_ seconds: Double, gemm: Double, slowed: Double, group: Int) -> TensorParallelTime {
        guard self == .pipelined, group > 1 else { return TensorParallelTime(exposed: seconds) }
        return TensorParallelTime(exposed: pipelinedExposed(seconds, gemm: slowed, group: group), contention: slowed - gemm)
    }
}

/// What tensor-parallel collectives add to a block's time, seconds: the collectives' time past
/// the GEMMs that hide them, and the GEMMs' slowdown beside the collectives' kernels, which
/// hold some SMs (`TensorParallelOverlapSMs`).
struct TensorParallelTime: Equatable {
    var exposed = 0.0, contention = 0.0
    var total: Double { exposed + contention }

    static func + (a: Self, b: Self) -> Self { Self(exposed: a.exposed + b.exposed, contention: a.contention + b.contention) }
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
    /// One all-gather of a micro-batch's activations into a quantized Linear: `half` in BF16,
    /// less under Transformer Engine's FP8 and FP4 recipes, which quantize a sequence-parallel
    /// Linear's input (forward, and again for the weight gradient) and the row-parallel output
    /// gradient before they gather them (`gather_along_first_dim` with the tensor's quantizer;
    /// TE's `nvfp4.rst`, "Quantized all-gather": amaxes reduced first), moving the quantized
    /// copy instead (`PrecisionPolicy.gatheredActivationBytes`). The reduce-scatters move the
    /// GEMMs' BF16 outputs.
    var gather: Double
    var sequenceParallel: Bool
    var overlap: TensorParallelOverlap
    /// GPUs of the TP group (the chunks of a pipelined collective).
    var group: Int

    /// A block's forward, its GEMMs taking `window`: an all-reduce, or an all-gather into the
    /// column-parallel linears and a reduce-scatter out of the row-parallel one (pipelined
    /// with them under `pipelined`, the row-parallel GEMM on the SMs the reduce-scatter's
    /// kernel leaves).
    func blockForward(window: TensorParallelOverlap.Windows) -> TensorParallelTime {
        guard sequenceParallel else { return TensorParallelTime(exposed: 2 * half) }
        return TensorParallelTime(exposed: overlap.pipelinedExposed(gather, gemm: window.full.columnForward, group: group))
            + overlap.pipelinedExposed(half, gemm: window.full.rowForward, slowed: window.slowed.rowForward, group: group)
    }

    /// A block's backward, its GEMMs taking `window`: the column-parallel linears'
    /// (`columnParallelBackward`), and with sequence parallelism the row-parallel linear's
    /// output-gradient all-gather (exposed, or pipelined with that linear's input gradient).
    func blockBackward(window: TensorParallelOverlap.Windows) -> TensorParallelTime {
        TensorParallelTime(exposed: sequenceParallel ? overlap.pipelinedExposed(gather, gemm: window.full.rowInputGradient, group: group) : 0)
            + columnParallelBackward(window: window, regather: gather)
    }

    /// The backward collectives of column-parallel linears whose GEMMs take `window`: the input
    /// gradient all-reduced under the weight gradient, or with sequence parallelism
    /// reduce-scattered under it and the saved input slice re-gathered under the input gradient
    /// (taking `regather`: the block's quantized gather, the BF16 head's `half`).
    func columnParallelBackward(window: TensorParallelOverlap.Windows, regather: Double) -> TensorParallelTime {
        let (w, slowed) = (window.full, window.slowed)
        guard sequenceParallel else { return overlap.exposed(2 * half, window: w.weightGradient, slowed: slowed.weightGradient) }
        return overlap.exposed(half, window: w.weightGradient, slowed: slowed.weightGradient)
            + overlap.exposed(regather, window: w.inputGradient, slowed: slowed.inputGradient)
    }

    /// The vocabulary-parallel embedding's forward: its partial outputs all-reduced
    /// (reduce-scattered with sequence parallelism).
    var embeddingForward: Double { sequenceParallel ? half : 2 * half }
    /// Its backward: with sequence parallelism the output gradient is all-gathered for the
    /// embedding's weight gradient; without it nothing moves.
    var embeddingBackward: Double { sequenceParallel ? half : 0 }
    /// The vocabulary-parallel head's forward, its GEMM taking `window`: with sequence
    /// parallelism the input is all-gathered (pipelined with the head's GEMM under
    /// `pipelined`); without it the input is already whole. Its backward is a column-parallel
    /// linear's with no row-parallel one after it (`columnParallelBackward`).
    func headForward(window: TensorParallelOverlap.Window) -> Double {
        sequenceParallel ? overlap.pipelinedExposed(half, gemm: window.columnForward, group: group) : 0
    }

}
