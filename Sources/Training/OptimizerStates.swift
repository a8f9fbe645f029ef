import Hardware
import Kernels

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
    /// The routed experts' gradients, when another format than `gradients`: NeMo AutoModel's
    /// MoE parallelizer leaves the experts out of FSDP when their EP groups already span the
    /// data-parallel replicas (`ignored_params` in `components/moe/parallelizer.py` unless
    /// `ep_shard` > 1), so they are plain BF16 parameters whose gradients accumulate in BF16,
    /// while the FSDP-managed rest accumulate in the FP32 reduce format. nil: `gradients`.
    public var expertGradients: Precision?
    /// With the distributed optimizer: the BF16 weights and the gradients sharded too (ZeRO-3,
    /// Rajbhandari et al. 2020; PyTorch FSDP; Megatron-FSDP's `optim_grads_params`): each
    /// layer's parameters are gathered for its forward and backward and its gradients
    /// reduce-scattered after its backward, every micro-batch (`FullyShardedLayers`), so
    /// nothing is reduced or gathered at the end of the step.
    public var fullySharded = false
    /// With `fullySharded`: the replicas a parameter is sharded over, consecutive in data-
    /// parallel order (hybrid sharding: PyTorch FSDP2's HSDP, `dp_shard` × `dp_replicate`);
    /// the `replicas / shardGroup` groups hold the same shards and all-reduce their gradients
    /// once per step. nil: every replica (plain FSDP).
    public var shardGroup: Int?
    /// With `fullySharded`: how the implementation lays out what it gathers and reduces, which
    /// decides the copies it runs on the compute stream around each collective.
    public var fullyShardedImplementation = FullyShardedImplementation.megatronFSDP
    /// With the distributed optimizer (and without `fullySharded`): the BF16 weights kept
    /// sharded like the optimizer states between uses, each layer gathered for its forward and
    /// again for its backward and freed after it, while the gradients accumulate whole until
    /// the step's last backward: PyTorch FSDP2 with `reshard_after_forward: true` and its
    /// reduction deferred to the last micro-batch (`set_requires_gradient_sync(False)`, which
    /// accumulates unsharded gradients in the reduce format), as NeMo AutoModel's MoE recipes
    /// run it. Every micro-batch gathers each layer's sharded weights before its forward and
    /// its backward, with FSDP2's copy out of the gather buffer, run against the compute like
    /// FSDP's gathers (`FullyShardedStages`), and no gather follows the update.
    public var reshardsAfterForward = false
    /// How each micro-batch's weight gradients join the accumulated ones (`GradientAccumulation`):
    /// fused into the weight-gradient GEMM (Megatron-LM, DeepSeek), or by kernels of their own
    /// after it (PyTorch autograd and FSDP2, NeMo AutoModel), each gradient in its kind's format
    /// (`gradientFormat(expert:)`) made from a BF16 one. Not with `fullySharded`: its gradients
    /// are reduce-scattered every micro-batch and accumulate as shards.
    public var gradientAccumulation = GradientAccumulation.fused
    /// How the embedding table's gradient is made (`EmbeddingGradient`): a dense table every
    /// micro-batch (PyTorch's default, assumed for DeepSeek), or the looked-up rows alone.
    public var embeddingGradient = EmbeddingGradient.dense
    /// An FP32 master copy of the weights, which the update writes and casts to the BF16 working
    /// copy (mixed-precision training: V3 §3.3.3, Megatron-LM, PyTorch AMP). Off: the BF16
    /// weights are the optimizer's parameters and the update writes them in place (pure BF16
    /// training, as NeMo AutoModel casts its models; `torch.optim.Adam` then keeps its moments
    /// in BF16 too).
    public var masterWeights = true
    /// The kernels that run the AdamW update, which set the bytes it moves
    /// (`OptimizerUpdateKernels`): one fused kernel (assumed for DeepSeek), Megatron-Core's
    /// distributed optimizer with its copies, or PyTorch's multi-tensor `_foreach_` passes.
    public var updateKernels = OptimizerUpdateKernels.fused
    /// AdamW's decoupled weight decay (V3 report §4.2: 0.1). Only its being 0 or not matters:
    /// the `foreach` kernels spend a pass over the parameters on it, the fused ones none.
    public var weightDecay = 0.1
    /// Gradient clipping by the global norm (V3 report §4.2: "gradient clipping norm to 1.0";
    /// Megatron-LM's `--clip-grad 1.0` default; PyTorch's `clip_grad_norm_`, NeMo AutoModel's
    /// `max_grad_norm`): every GPU sums the squares of the gradients it updates, the sums are
    /// all-reduced over every GPU, and no GPU can update before the norm is known: a barrier
    /// of the whole cluster between the last gradient reduction and the first update.
    public var clipsGradients = true

    public init(distributed: Bool = true, moments: Precision = .bf16, gradients: Precision = .fp32, fullySharded: Bool = false, masterWeights: Bool = true) {
        self.distributed = distributed; self.moments = moments; self.gradients = gradients; self.fullySharded = fullySharded
        self.masterWeights = masterWeights
    }

    /// DeepSeek-V3's: ZeRO-1, BF16 moments, FP32 gradients.
    public static let deepSeekV3 = OptimizerStates()

    /// The working copy of the weights the update writes and the all-gather moves: BF16 (V3
    /// §3.3.3; FP8 GEMMs cast from it), 2 B.
    public static let weights = Precision.bf16

    /// Bytes per parameter of the FP32 master weight (when kept) and the two moments.
    public var stateBytes: Int { (masterWeights ? Precision.fp32.wholeBytes : 0) + 2 * moments.wholeBytes }

    /// HBM bytes AdamW moves per parameter it updates, by its kernels (`updateKernels`); FP16
    /// gradients mean FP16 training under a loss scale, which the update first undoes. Fused
    /// (V3): it reads the gradient, the master weight and the moments and writes the master
    /// weight, the moments and the working weight, 4 + 4 + 2·2 read, 4 + 2·2 + 2 written = 22 B.
    public var updateBytes: Int { updateBytes(expert: false) }

    /// `updateBytes` for a non-expert (`expert` false) or a routed expert's parameter, whose
    /// gradient may have its own format (`expertGradients`).
    public func updateBytes(expert: Bool) -> Int {
        updateKernels.bytesPerParameter(gradient: gradientFormat(expert: expert).wholeBytes, moment: moments.wholeBytes, master: masterWeights, decays: weightDecay != 0,
                                       unscales: gradientFormat(expert: expert) == .fp16)
    }

    /// Bytes per updated parameter of the update's temporary: the `foreach` kernels' √v, one
    /// moment's format, allocated for every parameter of the group at once (`_foreach_sqrt`
    /// in `_multi_tensor_adam`); the fused kernels keep none.
    public var updateTemporaryBytesPerParameter: Int { updateKernels == .foreach ? moments.wholeBytes : 0 }

    /// The gradients' format for non-expert (`expert` false) or routed expert parameters.
    public func gradientFormat(expert: Bool) -> Precision { expert ? expertGradients ?? gradients : gradients }

    /// The embedding table's gradient kind and the HBM bytes that adding it into the step's
    /// gradient moves per micro-batch (of a step of `microbatches`), for `CostExecutor`: dense,
    /// per table parameter (`GradientAccumulation.bytesPerParameterOutsideGEMMs`; 0 under
    /// `fullySharded`, whose gradients are reduce-scattered as they are made and accumulate as
    /// shards); sparse, per element of the looked-up rows (their BF16 values read, the
    /// accumulated gradient read and written in its format).
    public func embeddingGradientCost(microbatches: Int) -> (kind: EmbeddingGradient, accumulationBytes: Double) {
        let fresh = Self.weights.wholeBytes, kept = gradientFormat(expert: false).wholeBytes
        switch embeddingGradient {
        case .sparse: return (.sparse, Double(GradientAccumulation.addBytes(fresh: fresh, accumulated: kept)))
        case .dense:
            guard !fullySharded else { return (.dense, 0) }
            return (.dense, gradientAccumulation.bytesPerParameterOutsideGEMMs(fresh: fresh, accumulated: kept, microbatches: microbatches))
        }
    }

    /// The states as `llmsim memory` names them: "FP32 master + BF16 moments".
    public var stateDescription: String {
        (masterWeights ? "FP32 master + " : "") + "\(moments.rawValue.uppercased()) moments"
    }
}

extension StepConfiguration {
    /// Data-parallel replicas of a routed expert's slice (one per TP × EP group of a stage):
    /// TP × CP × DP / (EP × expert-TP) (the groups fold whole TP × CP groups), at least 1. A
    /// non-expert parameter has DP × CP replicas (`weightReplicas`).
    public var expertReplicas: Int { max(max(tp, 1) * max(cp, 1) * dp / expertGroupSize, 1) }

    /// Copies of each stage's parameters in one pipeline (`ScheduleKind.stageCopies`: DualPipe's
    /// two). The copies compute gradients of the same weights on different micro-batches, so
    /// the gradients are summed over all of them, as over data-parallel replicas, and the
    /// distributed optimizer shards the states over all of them.
    public var stageCopies: Int { schedule.stageCopies }

    /// Replicas of a routed expert's slice that its gradients are reduced over and the
    /// distributed optimizer shards its states on: `expertReplicas` × `stageCopies`
    /// (V3: 2 EP groups per stage × DualPipe's 2 copies = 4, each on another node).
    public var expertStateReplicas: Int { expertReplicas * stageCopies }

    /// Replicas a non-expert parameter's states are sharded over: all of them (DP × CP times
    /// the stage's copies; V3: 128 × 2 = 256), or under FSDP its shard group (DualPipe with
    /// FSDP is refused).
    public var denseShards: Int { optimizer.fullySharded ? (optimizer.shardGroup ?? weightReplicas) : weightReplicas * stageCopies }

    /// Groups holding the same shards under hybrid sharding (1 without it): they all-reduce
    /// their gradient shards once per step.
    public var shardReplicaGroups: Int { weightReplicas / max(denseShards, 1) }

    /// One GPU's share of each parameter of `p`: 1/shards of a non-expert one, 1/replicas of an
    /// expert one.
    func shard(_ p: RankParameters) -> Double { p.dense / Double(denseShards) + p.expert / Double(expertStateReplicas) }

    /// Parameters of `p` whose optimizer states and update one GPU owns: its shard with the
    /// distributed optimizer, all of them without.
    func optimizerShard(_ p: RankParameters) -> Double { optimizer.distributed ? shard(p) : p.total }

    /// Parameters of `p` whose BF16 weights one GPU keeps between uses: its shard under FSDP or
    /// with `reshardsAfterForward`, all of them otherwise.
    func weightShard(_ p: RankParameters) -> Double { optimizer.fullySharded || optimizer.reshardsAfterForward ? shard(p) : p.total }

    /// Parameters of `p` whose gradients one GPU keeps between uses: its shard under FSDP, all
    /// of them otherwise.
    func gradientShard(_ p: RankParameters) -> Double { optimizer.fullySharded ? shard(p) : p.total }

    /// Bytes of the gradients of `p` one GPU keeps between uses (`gradientShard`), each kind of
    /// parameter in its format (`OptimizerStates.gradientFormat`).
    func gradientBytes(_ p: RankParameters) -> Double {
        gradientShard(p.denseOnly) * Double(optimizer.gradientFormat(expert: false).wholeBytes)
            + gradientShard(p.expertOnly) * Double(optimizer.gradientFormat(expert: true).wholeBytes)
    }
}
