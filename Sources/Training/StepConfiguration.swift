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
    public var schedule: ScheduleKind
    /// Virtual stages per rank for interleaved 1F1B.
    public var virtualStages: Int
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
    /// Which dispatcher moves MoE tokens (DeepEP unless the experiment says otherwise).
    public var moeDispatcher = MoEDispatcher.deepep
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

    /// The SMs the MoE all-to-all is timed on.
    public var effectiveAllToAllSMs: Int { allToAllSMs ?? communicationSMs }
    public var routingSkew: ExpertSkew
    /// Which gate routes the tokens (the model's router; AutoModel's benchmarks: round-robin).
    public var routingGate = GateKind.router
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
    /// Host seconds to issue one operation (`HostIssue`; nil: the calibration's, measured on
    /// DeepSeek's trace; 0: launches cost nothing, as under CUDA graphs).
    public var hostSecondsPerOperation: Double?
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

    /// The micro-batch's tokens split evenly into its sequences.
    public func checkMicrobatchSequences() throws {
        guard microbatchSequences >= 1, microbatchTokens % microbatchSequences == 0 else {
            throw ScheduleError(problem: "\(microbatchTokens) tokens per micro-batch do not split into \(microbatchSequences) sequences",
                                fix: "set microbatch_tokens to sequences × sequence length (e.g. \(microbatchSequences) × 2048 = \(microbatchSequences * 2048))")
        }
    }

    /// The GPU speed spread within 0 ≤ spread < `GPUSpeedVariation.maxSpread`.
    public func checkGPUSpeedSpread() throws {
        guard gpuSpeedSpread >= 0, gpuSpeedSpread < GPUSpeedVariation.maxSpread else {
            throw ScheduleError(problem: "a GPU speed spread of \(gpuSpeedSpread * 100)% is beyond the \(Int(GPUSpeedVariation.maxSpread * 100))% llmsim accepts",
                                fix: "give the coefficient of variation of GPU speed in percent, from 0 to below \(Int(GPUSpeedVariation.maxSpread * 100)), e.g. 2")
        }
    }

    /// Pipeline passes within 1 … `maxPipelinePasses`.
    public func checkPipelinePasses() throws {
        guard pipelinePasses >= 1, pipelinePasses <= Self.maxPipelinePasses else {
            throw ScheduleError(problem: "\(pipelinePasses) pipeline passes per step is outside 1…\(Self.maxPipelinePasses)",
                                fix: "give the number of times a step runs the schedule (AutoModel's GA under pipeline parallelism), 1 for one schedule per step")
        }
    }

    /// The host time per operation within 0 ≤ t ≤ `HostIssue.maxSecondsPerOperation`.
    public func checkHostIssue() throws {
        guard let t = hostSecondsPerOperation else { return }
        guard t >= 0, t <= HostIssue.maxSecondsPerOperation else {
            throw ScheduleError(problem: "\(t * 1e6) µs of host time per operation is beyond the \(Int(HostIssue.maxSecondsPerOperation * 1e6)) µs llmsim accepts",
                                fix: "give host_us_per_operation in microseconds (DeepSeek's trace: 100; 0 under CUDA graphs)")
        }
    }

    /// Pipelined TP collectives (`TensorParallelOverlap.pipelined`) split sequence-parallel
    /// all-gathers and reduce-scatters; without sequence parallelism there are none to split.
    public func checkTensorParallelOverlap() throws {
        guard tensorParallelOverlap != .pipelined || sequenceParallel || tp == 1 else {
            throw ScheduleError(problem: "pipelined TP collectives need sequence parallelism (Transformer Engine splits its all-gathers and reduce-scatters)",
                                fix: "set parallel.sp: true, or tp_overlap: backward")
        }
    }

    /// A parameter all-gather to overlap exists only with the distributed optimizer.
    public func checkParamGatherOverlap() throws {
        guard overlapParamGather, !optimizer.distributed else { return }
        throw ScheduleError(problem: "overlap_param_gather needs the distributed optimizer: without it every replica updates all its parameters and nothing is gathered",
                            fix: "remove overlap_param_gather, or set optimizer: {distributed: true}")
    }

    /// Context parallelism: each sequence splits into 2·CP equal chunks; the attention core
    /// must be FlashAttention's (the ring merges partial softmax results); a sequence is not
    /// also split across micro-batches; no layer attends through a sliding window.
    public func checkContextParallel() throws {
        guard cp >= 1 else { throw ScheduleError(problem: "cp \(cp) must be at least 1", fix: "set parallel.cp: 1 (no context parallelism) or more") }
        guard cp > 1 else { return }
        guard sequenceTokens % (2 * cp) == 0 else {
            throw ScheduleError(problem: "a \(sequenceTokens)-token sequence does not split into 2 × CP = \(2 * cp) equal chunks",
                                fix: "use a cp with 2·cp dividing the sequence length (e.g. cp 2 for 8,192 tokens)")
        }
        guard attentionKernel == .flash else {
            throw ScheduleError(problem: "context parallelism needs FlashAttention (the ring merges partial softmax results); attention_kernel is unfused",
                                fix: "remove attention_kernel: unfused, or set parallel.cp: 1")
        }
        guard sequenceChunks == 1, attentionKeys == nil else {
            throw ScheduleError(problem: "a sequence split over context-parallel GPUs cannot also be split across micro-batches",
                                fix: "split long sequences with parallel.cp alone, or set parallel.cp: 1")
        }
        guard model.slidingWindow == nil else {
            throw ScheduleError(problem: "context parallelism with sliding-window attention (\(model.name)) is not modelled: the ring's blocks would be windowed",
                                fix: "set parallel.cp: 1")
        }
    }

    /// Groups of pipelines that run in lockstep (their all-to-alls couple them): one per TP × EP
    /// group of a stage, TP × CP × DP / (EP × expert-TP) (DP / EP without TP, CP and expert-TP).
    public var synchronisationGroups: Int { expertReplicas }

    /// Checks the plan; throws with the rule broken and the fix.
    public func validate() throws {
        func fail(_ problem: String, _ fix: String) -> ScheduleError { ScheduleError(problem: problem, fix: fix) }
        guard pp >= 1, microbatches >= 1, microbatchTokens >= 1 else { throw fail("pp, micro-batches and tokens must be >= 1", "check the plan") }
        try checkMicrobatchSequences()
        try schedule.checkPlan(pp: pp, microbatches: microbatches, virtualStages: virtualStages, sequenceChunks: sequenceChunks)
        guard microbatchSequences == 1 || sequenceChunks == 1 else {
            throw fail("a micro-batch of \(microbatchSequences) sequences cannot also be a chunk of a split sequence", "split long sequences with one sequence per micro-batch")
        }
        guard tp >= 1, tp <= topology.node.scaleUpDomainGPUs, topology.node.scaleUpDomainGPUs % tp == 0 else {
            throw fail("tp \(tp) does not fit the \(topology.node.scaleUpDomainGPUs)-GPU NVLink domain of a node", "use a tp dividing \(topology.node.scaleUpDomainGPUs) (tensor parallelism stays inside NVLink)")
        }
        do { _ = try model.tensorParallelShard(tp) } catch let e as ModelArchitecture.TensorParallelError { throw fail(e.problem, e.fix) }
        try checkContextParallel()
        guard gpus % (devicesPerPipeline * tp * cp) == 0 else {
            throw fail("\(gpus) GPUs are not a multiple of the \(devicesPerPipeline * tp * cp) GPUs of one pipeline (PP × TP × CP)", "choose PP × TP × CP dividing the GPU count")
        }
        let stages = schedule == .interleaved ? pp * virtualStages : pp
        guard stages <= model.layers else {
            throw fail("\(stages) pipeline stages for \(model.layers) layers", "use at most \(model.layers) stages")
        }
        guard etp == 1 || model.moe != nil else {
            throw fail("etp \(etp) splits routed experts, but \(model.name) is a dense model", "remove parallel.etp (or set it to 1)")
        }
        if let moe = model.moe {
            guard ep >= 1, ep <= moe.routedExperts, moe.routedExperts % ep == 0 else {
                throw fail("EP \(ep) must divide the \(moe.routedExperts) experts", "use a divisor of \(moe.routedExperts) (V3: 64)")
            }
            try checkExpertTensorParallel(moe)
            // Experts are neither TP- nor CP-split: each GPU routes its own share of the tokens
            // (its CP chunks, and its sequence-parallel share of them under TP), and an EP group
            // folds whole TP × CP groups and DP replicas (Megatron-Core's parallel folding with
            // expert-TP 1).
            if tp > 1 {
                guard sequenceParallel else {
                    throw fail("an MoE model with TP \(tp) needs sequence parallelism (each GPU of a TP group routes its own share of the tokens; Megatron-LM requires it)", "set parallel.sp: true")
                }
                guard gpuTokens % tp == 0 else {
                    throw fail("\(gpuTokens) tokens per micro-batch do not split over TP \(tp)", "use a micro-batch size divisible by \(tp)")
                }
            }
            // The TP × EP group (EP × expert-TP GPUs) folds whole TP × CP groups and divides a
            // stage's GPUs.
            let fold = tp * cp, group = ep * etp
            if fold == 1 {
                guard dp % group == 0 else {
                    let what = etp > 1 ? "EP × expert-TP = \(group)" : "EP \(ep)"
                    throw fail("\(what) does not divide the data-parallel degree \(dp)", "EP groups are formed inside DP; use a divisor of \(dp)")
                }
            } else if group > 1 {
                guard group % fold == 0, (fold * dp) % group == 0 else {
                    let folded = cp > 1 ? "TP × CP = \(fold)" : "TP \(tp)"
                    let what = etp > 1 ? "EP × expert-TP = \(group)" : "EP \(ep)"
                    throw fail("\(what) is not a whole number of \(folded) groups dividing the \(fold * dp) GPUs of a stage", "use an EP\(etp > 1 ? " × expert-TP" : "") that is a multiple of \(fold) and divides \(fold * dp)")
                }
            }
        }
        try schedule.checkSends(effectivePipelineSends)
        if pairsForwardBackward { try schedule.checkPairs(pp: pp, sequenceChunks: sequenceChunks) }
        try checkGPUSpeedSpread()
        try checkHostIssue()
        try checkPipelinePasses()
        try checkTensorParallelOverlap()
        try checkCommunicationSMs()
        try checkAllToAllSMs()
        try checkSharedExpertOverlap()
    }

    /// The shared-expert overlap needs shared experts, Megatron's all-to-all dispatcher (it is
    /// not supported with DeepEP) and a schedule that does not already pair micro-batches.
    public func checkSharedExpertOverlap() throws {
        guard sharedExpertOverlap else { return }
        guard (model.moe?.sharedExperts ?? 0) > 0 else {
            throw ScheduleError(problem: "moe_shared_expert_overlap needs shared experts, and \(model.name) has none", fix: "remove moe_shared_expert_overlap")
        }
        guard moeDispatcher == .alltoall else {
            throw ScheduleError(problem: "moe_shared_expert_overlap runs beside Megatron-LM's all-to-all dispatcher; Megatron does not support it with DeepEP",
                                fix: "set moe_dispatcher: alltoall, or remove moe_shared_expert_overlap")
        }
        guard !overlapsForwardAndBackward else {
            throw ScheduleError(problem: "\(schedule.rawValue)\(pairsForwardBackward ? " with overlapped pairs" : "") already runs each all-to-all beside the other micro-batch's compute",
                                fix: "remove moe_shared_expert_overlap")
        }
    }

    /// Expert-TP: at least 1, inside one node's NVLink domain (its all-gathers run there), the
    /// TP × EP group a whole number of nodes or inside one, the expert width divisible.
    func checkExpertTensorParallel(_ moe: MoEShape) throws {
        let domain = topology.node.scaleUpDomainGPUs, perNode = topology.node.gpus
        guard etp >= 1, etp <= domain, domain % etp == 0, perNode % etp == 0 else {
            throw ScheduleError(problem: "etp \(etp) does not fit the \(domain)-GPU NVLink domain of a node",
                                fix: "use an etp dividing \(min(domain, perNode)) (expert tensor parallelism stays inside NVLink)")
        }
        let group = ep * etp
        guard group <= perNode || group % perNode == 0 else {
            throw ScheduleError(problem: "the TP × EP group of EP \(ep) × expert-TP \(etp) = \(group) GPUs is not a whole number of \(perNode)-GPU nodes",
                                fix: "choose EP × expert-TP at most \(perNode) or a multiple of it")
        }
        guard moe.expertIntermediateSize % etp == 0 else {
            throw ScheduleError(problem: "expert-TP \(etp) does not divide the expert FFN width \(moe.expertIntermediateSize)",
                                fix: "use an etp that divides \(moe.expertIntermediateSize)")
        }
    }

    /// Communication kernels need at least one SM and must leave compute at least one.
    public func checkCommunicationSMs() throws {
        let sms = topology.node.device.smCount
        guard communicationSMs > 0, communicationSMs < sms else {
            throw ScheduleError(problem: "\(communicationSMs) communication SMs, but the \(topology.node.device.name) has \(sms) SMs in all",
                                fix: "set communication_sms between 1 and \(sms - 1) (V3 gave 20 of 132 to DeepEP and the pipeline sends)")
        }
    }

    /// The all-to-all's own SMs fit the device, and exceed the reserved ones only where the
    /// all-to-all never runs beside compute.
    public func checkAllToAllSMs() throws {
        guard let a2a = allToAllSMs else { return }
        let sms = topology.node.device.smCount
        guard a2a > 0, a2a <= sms else {
            throw ScheduleError(problem: "\(a2a) all-to-all SMs, but the \(topology.node.device.name) has \(sms) SMs in all",
                                fix: "set all_to_all_sms between 1 and \(sms) (DeepEP's default is 20)")
        }
        guard a2a <= communicationSMs || !overlapsForwardAndBackward else {
            throw ScheduleError(problem: "\(schedule.rawValue)\(pairsForwardBackward ? " with overlapped pairs" : "") runs the all-to-all beside the other micro-batch's compute, so its \(a2a) SMs must come out of the \(communicationSMs) reserved from the compute",
                                fix: "drop all_to_all_sms (it then uses communication_sms), or raise communication_sms to \(a2a)")
        }
    }
}
