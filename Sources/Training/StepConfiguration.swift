import CostModel
import Fabric
import Hardware
import Kernels
import Model
import Schedules

/// How much of the cluster a step simulates.
public enum StepFidelity: String, Sendable, Codable, CaseIterable {
    /// One pipeline, one EP group's routing for every MoE layer: fast, for sweeps.
    case representative
    /// Every stage of every EP group routed on its own; the slowest group sets the step.
    case wholeCluster = "whole-cluster"
}

/// Everything one simulated training step depends on.
public struct StepConfiguration: Sendable {
    public var model: ModelArchitecture
    public var topology: Topology
    /// Pipeline stages.
    public var pp: Int
    /// Expert-parallel group size (GPUs).
    public var ep: Int
    /// Tensor-parallel group size (GPUs of one node).
    public var tp: Int = 1
    /// Expert tensor-parallel group size (Megatron-Core's `--expert-tensor-parallel-size`):
    /// each routed expert's FFN width is split over this many consecutive GPUs of a node,
    /// which hold the same experts. The EP group is then one slice index of a TP × EP group of
    /// `etp × ep` consecutive GPUs (Megatron's `tp-ep-dp-pp` expert rank order): the NCCL
    /// all-to-all runs over the EP group and an all-gather over the expert-TP group follows
    /// it; DeepEP runs over the whole TP × EP group, each token to every slice of its experts.
    /// 1 (the default): experts whole — DeepSeek-V3's plan and Megatron-Core's parallel
    /// folding; Megatron-LM's own default is the attention's TP.
    public var etp: Int = 1
    /// GPUs of a TP × EP group: EP × expert-TP consecutive GPUs, over which one MoE layer's
    /// routed experts are split (EP alone at expert-TP 1).
    public var expertGroupSize: Int { max(ep, 1) * max(etp, 1) }
    /// Context-parallel group size (Megatron-LM's `--context-parallel-size`): each sequence of
    /// a micro-batch is cut into 2·CP chunks and GPU i of the group takes chunks i and
    /// 2·CP − 1 − i (the causal work balanced), for every layer; attention exchanges keys and
    /// values around the group's ring (`ContextParallelRing`). Ranks are laid out TP, then CP,
    /// then DP (Megatron's `tp-cp-ep-dp-pp` order); weights are replicated over CP × DP.
    public var cp = 1
    /// With TP: sequence parallelism (Korthikanti et al. 2022): norms and residual activations
    /// split along the sequence, all-reduces replaced by reduce-scatter + all-gather.
    public var sequenceParallel = true
    /// With TP: whether the backward's collectives hide under the column-parallel linears'
    /// weight gradients (Megatron-LM since 2022), all run exposed (2021), or every collective
    /// is also pipelined with the GEMM it feeds or drains (Transformer Engine's userbuffers).
    public var tensorParallelOverlap = TensorParallelOverlap.backward
    /// Under `tensorParallelOverlap == .pipelined`: the SMs Transformer Engine's userbuffers
    /// kernels take from the GEMMs beside them (`TensorParallelOverlapSMs`; Transformer Engine's defaults
    /// unless the experiment gives `parallel.tp_overlap_sms`).
    public var userbufferSMs = TensorParallelOverlapSMs()
    /// Gradients are reduced layer bucket by layer bucket as the last backward of their stage
    /// chunk on the rank makes them final, under the rest of the backward and the pipeline
    /// drain (`DataParallelOptimizer`); off: after the rank's last instruction.
    public var overlapGradReduce = false
    /// With the distributed optimizer: the updated parameters are all-gathered bucket by bucket
    /// under the next step's forwards, each layer's bucket before that layer's first forward
    /// (Megatron-LM's `--overlap-param-gather`, on in Megatron-Bridge's recipes); only what the
    /// forwards cannot hide lengthens the step (`DataParallelOptimizer`). Off: the all-gather
    /// follows the update on the critical path.
    public var overlapParamGather = false
    /// How the pipeline sends between stages are issued (nil: as the schedule's reference
    /// implementation does, `ScheduleKind.defaultSends`: batched for DualPipe and 1F1B).
    public var pipelineSends: PipelineSends?
    /// The pipeline sends in force (the schedule's default when the experiment names none).
    public var effectivePipelineSends: PipelineSends { pipelineSends ?? schedule.defaultSends }
    /// How data parallelism keeps the AdamW states (V3: ZeRO-1, BF16 moments, FP32 gradients).
    public var optimizer = OptimizerStates.deepSeekV3
    public var fidelity = StepFidelity.representative
    /// GPU-to-GPU spread of sustained compute speed (`GPUSpeedVariation`): the coefficient of
    /// variation, a fraction (0: every GPU as fast as the calibration).
    public var gpuSpeedSpread = 0.0
    /// Run-to-run variation of each pipeline instruction's duration (`InstructionJitter`): the
    /// coefficient of variation, a fraction (0: every instruction as simulated).
    public var instructionJitter = 0.0
    public var schedule: ScheduleKind
    /// Virtual stages per rank for interleaved 1F1B.
    public var virtualStages: Int
    /// The layers of each stage as the experiment places them (`parallel.pipeline_layout`,
    /// Megatron-Core's notation); nil: llmsim balances the stages by their time, within memory
    /// (`StagePartition`).
    public var pipelineLayout: PipelineLayout?
    /// Micro-batches per pipeline per pass of the schedule.
    public var microbatches: Int
    /// Times a step runs the pipeline schedule over its `microbatches`, filling and draining it
    /// each time, before the optimizer step: NeMo AutoModel's gradient accumulation under
    /// pipeline parallelism (each of GA local batches is one `schedule.step`). 1: one schedule
    /// over every micro-batch, as Megatron-LM and DualPipe run a step.
    public var pipelinePasses = 1
    /// The most passes llmsim accepts (a bound on bad input, far beyond published plans).
    public static let maxPipelinePasses = 4096
    /// Tokens per micro-batch of one pipeline (one 4,096-token sequence for DeepSeek-V3); with
    /// context parallelism its sequences are split over the CP group (`gpuTokens` per GPU).
    public var microbatchTokens: Int
    /// Tokens of one micro-batch that each GPU of a context-parallel group computes
    /// (`microbatchTokens` / CP).
    public var gpuTokens: Int { microbatchTokens / max(cp, 1) }
    /// Tokens of one micro-batch that each GPU routes through an MoE layer: its sequence-parallel
    /// share under tensor parallelism (experts are not TP-split: each GPU of a TP group routes
    /// its own 1/TP of the tokens, Megatron-Core's expert-TP size 1), else `gpuTokens`.
    public var moeTokens: Int { gpuTokens / max(tp, 1) }
    /// Routed token-rows landing on each GPU under perfect balance: the tokens routed by its
    /// TP × EP group's GPUs × top-K over the group's GPUs — `moeTokens` × K, times expert-TP
    /// (each GPU computes its slice of the rows of its whole expert-TP group).
    public var balancedRoutedRows: Int { model.moe.map { moeTokens * $0.topK * max(etp, 1) } ?? 0 }
    /// Independent sequences in one micro-batch (Megatron-LM's `--micro-batch-size`; 1 for
    /// DeepSeek-V3): each is `sequenceTokens` long and attends only to itself, while the
    /// linears see all `microbatchTokens` rows at once.
    public var microbatchSequences = 1
    /// Tokens of one sequence of a micro-batch (or of one chunk of a split sequence).
    public var sequenceTokens: Int { microbatchTokens / max(microbatchSequences, 1) }
    public var precision: PrecisionPolicy
    /// Recomputation; nil = the model family's default (DeepSeek's for MLA, none otherwise).
    public var recompute: RecomputePolicy?
    /// Megatron-LM's selective recomputation by module (`--recompute-modules`), with
    /// `recompute` none.
    public var recomputeModules: Set<RecomputeModule> = []
    /// Megatron-Core's CPU activation offloading of the first layers (`ActivationOffload`);
    /// nil: none.
    public var activationOffload: ActivationOffload?
    /// SMs communication kernels take from the compute for the whole step (V3: 20 of 132, for
    /// DeepEP and the pipeline sends beside its overlapped GEMMs).
    public var communicationSMs: Int
    /// SMs the MoE all-to-all kernels run on when they have the GPU to themselves (nil: the
    /// `communicationSMs`). Frameworks that run DeepEP between the GEMMs of one micro-batch
    /// (Megatron-LM without `--overlap-moe-expert-parallel-comm`, NeMo AutoModel) give it its
    /// default 20 SMs while it runs and the GEMMs all SMs while they run; only schedules that
    /// overlap the all-to-all with compute (DualPipe's pairs) must reserve them.
    public var allToAllSMs: Int?
    /// Each steady-state forward of interleaved 1F1B (or of 1F1B on one rank) runs with a
    /// backward of another micro-batch as one overlapped pair, each one's all-to-alls under the
    /// other's compute (Megatron-Core's `--overlap-moe-expert-parallel-comm`, DualPipe's pairing
    /// on an ordinary pipeline; `ScheduleGenerator.pairSteadyState`).
    public var pairsForwardBackward = false
    /// Whether the schedule runs forwards and backwards as overlapped pairs (DualPipe, or
    /// interleaved 1F1B with `pairsForwardBackward`): the all-to-all then runs beside compute.
    public var overlapsForwardAndBackward: Bool { schedule.overlapsForwardAndBackward || pairsForwardBackward }
    /// Whether the last pipeline stage keeps a copy of the embedding table of its own: its MTP
    /// modules look up the next tokens in it, and a tied output head is it, but the table lives
    /// on the first stage, another rank. Megatron-Core builds the embedding on the last stage
    /// too (`GPTModel`: `if self.pre_process or self.mtp_process`; with tied weights
    /// `setup_embeddings_and_output_layer`), a parameter with its own gradient and optimizer
    /// states, and after every backward all-reduces the two copies' gradients over the
    /// "embedding group" of the first and last stage (`_allreduce_embedding_grads` in
    /// `finalize_model_grads`) so that both update alike. Not with one stage, nor where one rank
    /// runs both ends (DualPipe, DualPipeV: one table serves both, as MindSpeed's `dualpipev`
    /// shares it).
    public var lastStageCopiesEmbedding: Bool {
        (layerModel.mtpDepth > 0 || model.tiedEmbeddings) && pp > 1 && !schedule.endsShareARank
    }
    /// Which dispatcher moves MoE tokens (DeepEP unless the experiment says otherwise).
    public var moeDispatcher = MoEDispatcher.deepep
    /// Which release of DeepEP's kernels the dispatcher runs (`DeepEPKernels`; the current one
    /// unless the experiment says otherwise).
    public var deepepKernels = DeepEPKernels.current
    /// Megatron-Core's `--moe-shared-expert-overlap`: the shared experts (and their TP
    /// collectives) run beside the all-to-all dispatcher's communication (`SharedExpertOverlap`).
    public var sharedExpertOverlap = false
    /// The schedule of `kind` (this plan's unless another is asked for: a run's fallback, the
    /// memory check's) for `microbatches` per pass, with the plan's pipeline, virtual stages and
    /// sequence chunks, its steady state paired when the plan asks for pairs and `kind` can
    /// pair them.
    public func generateSchedule(_ kind: ScheduleKind? = nil, microbatches n: Int? = nil) throws -> PipelineSchedule {
        let kind = kind ?? schedule
        return try ScheduleGenerator.make(kind, pp: pp, microbatches: n ?? microbatches, virtualStages: virtualStages, sequenceChunks: sequenceChunks,
                                          pairForwardBackward: pairsForwardBackward && kind.canPairForwardBackward(pp: pp))
    }

    /// SMs an NCCL collective's kernel holds while it runs beside the compute (FSDP's per-layer
    /// gathers and reduce-scatters, Megatron-LM's asynchronous TP collectives, the head's): nil,
    /// the node's `CollectiveSMs` for the ring (none where the catalog has no figure); 0, the
    /// compute keeps every SM. SMs already reserved for the whole step (`communicationSMs`) are
    /// the collective's first (`collectiveSMsTaken`).
    public var collectiveSMs: Int?

    /// SMs an NCCL collective's kernel holds on a ring that stays in one NVLink domain or
    /// leaves it: the experiment's `collectiveSMs`, else the node's figure, else 0.
    public func collectiveSMs(crossesNodes: Bool) -> Int {
        collectiveSMs ?? topology.node.collectiveSMs?.ring(crossesNodes: crossesNodes) ?? 0
    }

    /// Of those, the SMs it takes from the compute: beyond the ones reserved for the whole step.
    public func collectiveSMsTaken(crossesNodes: Bool) -> Int { max(0, collectiveSMs(crossesNodes: crossesNodes) - communicationSMs) }

    /// The SMs the MoE all-to-all is timed on.
    public var effectiveAllToAllSMs: Int { allToAllSMs ?? communicationSMs }
    /// GPUs the MoE all-to-all treats as one node, reached over NVLink: the job's NVLink domain
    /// for a dispatcher that spans multi-node NVLink (NCCL, Hybrid-EP: 64 GPUs of a GB200 NVL72
    /// job of 256), a node's GPUs for DeepEP (`MoEDispatcher.spansMultiNodeNVLink`); the same on
    /// HGX nodes.
    public var allToAllNodeGPUs: Int { moeDispatcher.allToAllNodeGPUs(node: topology.node.gpus, domain: topology.scaleUpDomainGPUs) }
    public var routingSkew: ExpertSkew
    /// Which gate routes the tokens (the model's router; AutoModel's benchmarks: round-robin).
    public var routingGate = GateKind.router
    /// β of `SequencePopularity`: each sequence's tokens share an expert popularity drawn around
    /// the group's (nil: every token draws independently).
    public var sequenceConcentration: Double?
    /// Distinct routings the step draws for its micro-batches (`MicrobatchRouting`): 1, every
    /// micro-batch routes as the representative draw; more, each (micro-batch, MoE layer) of
    /// each synchronisation group takes one of them.
    public var microbatchRoutings = 1
    /// Whether the step draws routings per micro-batch: more than one draw, of an MoE model.
    public var routesEachMicrobatch: Bool { microbatchRoutings > 1 && model.moe != nil }
    /// Keys each micro-batch attends to when sequences are chunked across micro-batches
    /// (nil: one whole sequence per micro-batch).
    public var attentionKeys: Int?
    /// Micro-batches per sequence when long sequences are split across micro-batches (1: none);
    /// the schedule then runs each sequence's chunks backward last first
    /// (`ScheduleGenerator.make`).
    public var sequenceChunks = 1
    /// How the attention core runs: FlashAttention (default) or materialized scores
    /// (Megatron-LM before FlashAttention, 2021–2022).
    public var attentionKernel = AttentionKernel.flash
    /// How the experts' biases are added, for a model whose experts carry them (GPT-OSS):
    /// in the grouped GEMM's epilogue (default) or per expert, as NeMo AutoModel does
    /// (`ExpertBiasKernels`). Holds nothing for other models.
    public var expertBiasKernels = ExpertBiasKernels.fused
    /// How the loss over the logits runs (`cross_entropy`; `CrossEntropyKernels`).
    public var crossEntropyKernels = CrossEntropyKernels.fused
    /// What a GEMM calibrated on the H800 keeps on this experiment's GPU (`gemm_ceiling`): its
    /// fraction of the dense peak (default) or of the GPU's measured best matmul rate.
    public var gemmCeiling = GEMMCeiling.peak
    /// What attention calibrated on the H800 keeps on this experiment's GPU
    /// (`attention_ceiling`): its efficiency against the scarcest of the SM's tensor cores,
    /// exponential units and shared memory (default), or its fraction of the BF16 peak.
    public var attentionCeiling = AttentionCeiling.units
    /// Host seconds to issue one operation (`HostIssue`; nil: the calibration's, measured on
    /// DeepSeek's trace; 0: launches cost nothing, as under CUDA graphs).
    public var hostSecondsPerOperation: Double?
    /// The kernel calibration this experiment prices its operations with (`calibration:`, the
    /// shipped file with some figures replaced, or a file of the user's own measurements); nil:
    /// the one the caller passes, normally the shipped Hopper file.
    public var calibration: KernelCalibration?
    public var seed: UInt64

    public init(model: ModelArchitecture, topology: Topology, pp: Int, ep: Int, schedule: ScheduleKind, virtualStages: Int = 2,
                microbatches: Int, microbatchTokens: Int, precision: PrecisionPolicy, recompute: RecomputePolicy? = nil, communicationSMs: Int,
                routingSkew: ExpertSkew = .uniform, seed: UInt64 = 1) {
        self.model = model; self.topology = topology; self.pp = pp; self.ep = ep; self.schedule = schedule
        self.virtualStages = virtualStages; self.microbatches = microbatches; self.microbatchTokens = microbatchTokens
        self.precision = precision; self.recompute = recompute; self.communicationSMs = communicationSMs; self.routingSkew = routingSkew; self.seed = seed
    }

    public var gpus: Int { topology.gpus }
    /// The recomputation in force (the model's default when the experiment names none).
    public var effectiveRecompute: RecomputePolicy { recompute ?? model.defaultRecompute }
    /// Data-parallel degree: GPUs / (GPUs of one pipeline × TP × CP).
    public var dp: Int { gpus / (devicesPerPipeline * tp * cp) }
    /// Replicas of every weight: DP × CP (what gradients are reduced over and ZeRO-1 shards on).
    public var weightReplicas: Int { dp * cp }
    /// The model one GPU computes: the TP shard (the model itself for TP 1), its routed
    /// experts split over expert-TP.
    public var layerModel: ModelArchitecture { (try? model.tensorParallelShard(tp).expertTensorParallelShard(etp)) ?? model }
    /// GPUs one pipeline spans (PP, or PP/2 for DualPipeV).
    public var devicesPerPipeline: Int { schedule == .dualpipev ? pp / 2 : pp }
    /// Sequences per step across the cluster.
    public var globalBatchTokens: Int { batchPipelines * microbatches * microbatchTokens }
    /// The pipeline runs a step's batch is split over: DP pipelines × passes of the schedule.
    public var batchPipelines: Int { dp * pipelinePasses }

    /// Groups of pipelines that run in lockstep: a pipeline's TP × CP GPUs always (their
    /// collectives couple them) and, for an MoE model, the pipelines one TP × EP group spans (its
    /// all-to-alls couple them). DP / `pipelinesPerSynchronisationGroup`: TP × CP × DP / (EP ×
    /// expert-TP) for an MoE model (DP / EP without TP, CP and expert-TP), DP for a dense one.
    public var synchronisationGroups: Int { max(dp / pipelinesPerSynchronisationGroup, 1) }

    /// Data-parallel indices (pipelines, each with its TP × CP GPUs) one synchronisation group
    /// spans: EP × expert-TP / (TP × CP), at least 1 (validation makes an MoE group fold whole
    /// TP × CP groups).
    public var pipelinesPerSynchronisationGroup: Int { max(expertGroupSize / max(tp * cp, 1), 1) }
}
