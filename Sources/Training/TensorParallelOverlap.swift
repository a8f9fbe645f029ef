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
    /// computation"). The forward's collectives, and those of a full recomputation's forward,
    /// stay exposed.
    case backward

    /// Weight-gradient records of the weights whose input gradient is reduced over the TP
    /// group in the backward (record names end in `.<weight>.wgrad`).
    static let columnParallelSuffixes = ["wq", "wk", "wv", "wq_b", "wkv_b", "ffn.up", "head"].map { ".\($0).wgrad" }

    /// Seconds the column-parallel weight-gradient GEMMs of `records` take, by block: the
    /// window a backward collective of that block can hide under.
    static func windows(_ records: [OperationRecord], kernels: KernelCostModel) -> (attention: Double, mlp: Double, other: Double) {
        var w = (attention: 0.0, mlp: 0.0, other: 0.0)
        for r in records where r.pass == .backwardWeight && columnParallelSuffixes.contains(where: r.name.hasSuffix) {
            switch r.block {
            case .attention: w.attention += kernels.duration(r)
            case .mlp: w.mlp += kernels.duration(r)
            default: w.other += kernels.duration(r)
            }
        }
        return w
    }

    /// Seconds a backward collective of `seconds` adds to the critical path when the weight
    /// gradients it can hide under take `window` seconds.
    func exposed(_ seconds: Double, window: Double) -> Double { self == .none ? seconds : max(0, seconds - window) }
}
