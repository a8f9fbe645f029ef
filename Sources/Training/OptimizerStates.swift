import Hardware

/// How data parallelism keeps and updates the AdamW states: the format of each piece and
/// whether they are sharded over a parameter's replicas. One description for the optimizer
/// step's time (`DataParallelOptimizer`) and the memory of a rank (`TrainingMemory`).
public struct OptimizerStates: Sendable, Equatable {
    /// Sharded over each parameter's data-parallel replicas (ZeRO-1, Rajbhandari et al. 2020;
    /// Megatron-LM's `--use-distributed-optimizer`; V3 §3.2): gradients reduce-scattered, each
    /// replica updates its shard, parameters all-gathered. Off: every replica keeps every state,
    /// gradients are all-reduced and every replica updates every parameter (Megatron-LM in 2021,
    /// before its distributed optimizer).
    public var distributed = true
    /// The two AdamW moments: BF16 (V3 §3.3.3) or FP32 (the PyTorch and Megatron-LM default).
    public var moments = Precision.bf16
    /// Gradients as kept and reduced: FP32 (V3 §3.3.3; Megatron-LM with BF16 and
    /// `--accumulate-allreduce-grads-in-fp32`) or FP16/BF16 (Megatron-LM's FP16 default).
    public var gradients = Precision.fp32

    public init(distributed: Bool = true, moments: Precision = .bf16, gradients: Precision = .fp32) {
        self.distributed = distributed; self.moments = moments; self.gradients = gradients
    }

    /// DeepSeek-V3's: ZeRO-1, BF16 moments, FP32 gradients.
    public static let deepSeekV3 = OptimizerStates()

    /// Bytes per parameter of the FP32 master weight and the two moments.
    public var stateBytes: Int { 4 + 2 * moments.bytes }

    /// HBM bytes AdamW moves per parameter it updates: reads the gradient, the master weight
    /// and the moments, writes the master weight, the moments and the BF16 weight (2 B).
    /// V3: 4 + 4 + 2·2 read, 4 + 2·2 + 2 written = 22 B.
    public var updateBytes: Int { gradients.bytes + 2 * stateBytes + 2 }

    /// `optimizer:` in an experiment: `distributed` (bool), `moments` and `gradients`.
    static let keys = ["distributed", "moments", "gradients"]
    static let formats: [Precision] = [.fp32, .bf16, .fp16]
}
