import Foundation
import Hardware
import Kernels
import Model
import Schedules

/// The rules a plan must keep, each broken one an error naming the rule and the fix.
extension StepConfiguration {
    /// The micro-batch's tokens split evenly into its sequences.
    public func checkMicrobatchSequences() throws {
        guard microbatchSequences >= 1, microbatchTokens % microbatchSequences == 0 else {
            throw ScheduleError(problem: "\(microbatchTokens) tokens per micro-batch do not split into \(microbatchSequences) sequences",
                                fix: "set microbatch_tokens to sequences × sequence length (e.g. \(microbatchSequences) × 2048 = \(microbatchSequences * 2048))")
        }
    }

    /// The GPU speed spread within 0 ≤ spread < `GPUSpeedVariation.maxSpread`.
    public func checkGPUSpeedSpread() throws {
        try Self.checkVariation(gpuSpeedSpread, below: GPUSpeedVariation.maxSpread, named: "a GPU speed spread", of: "GPU speed", example: "2")
    }

    /// The instruction jitter within 0 ≤ cv < `InstructionJitter.maxCV`.
    public func checkInstructionJitter() throws { try InstructionJitter.check(cv: instructionJitter) }

    /// A coefficient of variation (fraction) within 0 ≤ cv < `limit`, the error naming the
    /// setting and asking for percent: the rule the GPU speed spread and the instruction jitter
    /// share.
    static func checkVariation(_ cv: Double, below limit: Double, named name: String, of quantity: String, example: String) throws {
        guard cv >= 0, cv < limit else {
            throw ScheduleError(problem: "\(name) of \(String(format: "%g", cv * 100))% is beyond the \(Int(limit * 100))% llmsim accepts",
                                fix: "give the coefficient of variation of \(quantity) in percent, from 0 to below \(Int(limit * 100)), e.g. \(example)")
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
                                fix: "give host_us_per_operation in microseconds (DeepSeek's trace: 102; 0 under CUDA graphs)")
        }
    }

    /// CPU activation offloading as Megatron-Core allows it (`ActivationOffload`): fewer layers
    /// than the model has, one pipeline stage, no recomputation.
    public func checkActivationOffload() throws {
        guard let offload = activationOffload else { return }
        let layers = layerModel.layers
        guard offload.layers < layers else {
            throw ScheduleError(problem: "activation offloading of \(offload.layers) layers leaves none of the model's \(layers) on the GPU (Megatron-Core: cpu_offloading_num_layers < num_layers; the last layer's backward follows its forward at once)",
                                fix: "offload at most \(layers - 1) layers")
        }
        guard pp == 1 else {
            throw ScheduleError(problem: "activation offloading with \(pp) pipeline stages: Megatron-Core has no support for pipeline parallelism with CPU offloading",
                                fix: "set parallel.pp: 1 (with FSDP or the distributed optimizer), or drop activation_offload")
        }
        guard effectiveRecompute == .none, recomputeModules.isEmpty else {
            throw ScheduleError(problem: "activation offloading with recomputation (\(recomputeModules.isEmpty ? effectiveRecompute.rawValue : "recompute_modules")): Megatron-Core refuses CPU offloading when activation recomputation is enabled",
                                fix: "set recompute: none (and drop recompute_modules), or drop activation_offload")
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

    /// Userbuffers' SM counts (`TensorParallelOverlapSMs`) leave a GEMM at least one of the SMs
    /// the compute has (the device's less `communication_sms`).
    public func checkUserbufferSMs() throws {
        let compute = topology.node.device.smCount - communicationSMs
        for (name, n) in userbufferSMs.all where n >= compute {
            throw ScheduleError(problem: "\(n) SMs for userbuffers' \(name) kernel, but the compute has \(compute) (the \(topology.node.device.name)'s \(topology.node.device.smCount) less communication_sms \(communicationSMs))",
                                fix: "set \(name) between 0 and \(compute - 1) (Transformer Engine's default: \(TensorParallelOverlapSMs.defaultSMs))")
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

    /// The experiment's `pipeline_layout` against the plan's stages and the model's layers and
    /// MTP modules (nothing to check without one).
    public func checkPipelineLayout() throws {
        guard let layout = pipelineLayout else { return }
        try layout.check(stageCount: pipelineStages,
                         stagesDescription: schedule == .interleaved ? "PP \(pp) × \(virtualStages) virtual stages" : "PP \(pp) (\(schedule.rawValue))",
                         layers: model.layers, mtpDepth: model.mtpDepth)
    }

    /// Model chunks of one pipeline: PP × virtual stages when interleaved, else PP (DualPipe's
    /// and DualPipeV's PP stages included).
    public var pipelineStages: Int { schedule == .interleaved ? pp * virtualStages : pp }

    /// Checks the plan; throws with the rule broken and the fix.
    public func validate() throws {
        func fail(_ problem: String, _ fix: String) -> ScheduleError { ScheduleError(problem: problem, fix: fix) }
        guard pp >= 1, microbatches >= 1, microbatchTokens >= 1 else { throw fail("pp, micro-batches and tokens must be >= 1", "check the plan") }
        try checkMicrobatchSequences()
        try schedule.checkPlan(pp: pp, microbatches: microbatches, virtualStages: virtualStages, sequenceChunks: sequenceChunks)
        guard microbatchSequences == 1 || sequenceChunks == 1 else {
            throw fail("a micro-batch of \(microbatchSequences) sequences cannot also be a chunk of a split sequence", "split long sequences with one sequence per micro-batch")
        }
        guard tp >= 1, tp <= topology.scaleUpDomainGPUs, topology.scaleUpDomainGPUs % tp == 0 else {
            throw fail("tp \(tp) does not fit the \(topology.scaleUpDomainGPUs)-GPU NVLink domain the job's ranks fill", "use a tp dividing \(topology.scaleUpDomainGPUs) (tensor parallelism stays inside NVLink)")
        }
        do { _ = try model.tensorParallelShard(tp).expertTensorParallelShard(etp) } catch let e as ModelArchitecture.TensorParallelError { throw fail(e.problem, e.fix) }
        try checkContextParallel()
        try checkActivationOffload()
        guard gpus % (devicesPerPipeline * tp * cp) == 0 else {
            throw fail("\(gpus) GPUs are not a multiple of the \(devicesPerPipeline * tp * cp) GPUs of one pipeline (PP × TP × CP)", "choose PP × TP × CP dividing the GPU count")
        }
        if pipelineLayout != nil {
            try checkPipelineLayout()
        } else {
            guard pipelineStages <= model.layers else {
                throw fail("\(pipelineStages) pipeline stages for \(model.layers) layers", "use at most \(model.layers) stages, or place them with parallel.pipeline_layout")
            }
        }
        guard etp == 1 || model.moe != nil else {
            throw fail("etp \(etp) splits routed experts, but \(model.name) is a dense model", "remove parallel.etp (or set it to 1)")
        }
        if let moe = model.moe {
            guard ep >= 1, ep <= moe.routedExperts, moe.routedExperts % ep == 0 else {
                throw fail("EP \(ep) must divide the \(moe.routedExperts) experts", "use a divisor of \(moe.routedExperts) (V3: 64)")
            }
            try checkExpertTensorParallel()
            // Routed experts are split by neither TP nor CP (only by expert-TP): each GPU routes its
            // own share of the tokens (its CP chunks, and its sequence-parallel share of them under
            // TP), and a TP × EP group folds whole TP × CP groups and DP replicas (Megatron-Core's
            // parallel folding).
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
            let fold = tp * cp, group = expertGroupSize
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
        try checkInstructionJitter()
        try checkHostIssue()
        try checkPipelinePasses()
        try checkTensorParallelOverlap()
        try checkCommunicationSMs()
        try checkAllToAllSMs()
        try checkCollectiveSMs()
        try checkUserbufferSMs()
        try checkSharedExpertOverlap()
        try checkShardGroup()
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
    /// TP × EP group a whole number of nodes or inside one (the expert width it must divide is
    /// the model shard's rule, `expertTensorParallelShard`).
    func checkExpertTensorParallel() throws {
        let domain = topology.scaleUpDomainGPUs, perNode = topology.node.gpus
        guard etp >= 1, etp <= domain, domain % etp == 0, perNode % etp == 0 else {
            throw ScheduleError(problem: "etp \(etp) does not fit the \(domain)-GPU NVLink domain the job's ranks fill, or a node's \(perNode) GPUs",
                                fix: "use an etp dividing \(min(domain, perNode)) (expert tensor parallelism stays inside NVLink)")
        }
        let group = expertGroupSize
        guard group <= perNode || group % perNode == 0 else {
            throw ScheduleError(problem: "the TP × EP group of EP \(ep) × expert-TP \(etp) = \(group) GPUs is not a whole number of \(perNode)-GPU nodes",
                                fix: "choose EP × expert-TP at most \(perNode) or a multiple of it")
        }
        let a2aNode = allToAllNodeGPUs
        guard ExpertPlacement.tiles(group, a2aNode) else {
            throw ScheduleError(problem: "EP groups of \(group) GPUs neither tile the job's \(a2aNode)-GPU NVLink domains nor span a whole number of them, which the \(moeDispatcher.rawValue) dispatcher's all-to-all needs",
                                fix: "choose EP × expert-TP dividing \(a2aNode) or a multiple of it, or moe_dispatcher: deepep (its all-to-all leaves each node over the NICs)")
        }
    }

    /// FSDP, and the resharded weights of `reshard_after_forward`, are not modelled under
    /// DualPipe's two stage copies. Hybrid sharding: the shard group
    /// divides the replicas; MoE models are not modelled with it (their experts' replicas follow
    /// the EP groups, not the shard groups).
    public func checkShardGroup() throws {
        if optimizer.fullySharded, stageCopies > 1 {
            throw ScheduleError(problem: "FSDP with DualPipe is not modelled: each stage's two copies (ranks s and PP−1−s) would gather and reduce over their own replicas and still need their gradients summed",
                                fix: "use the distributed optimizer (drop fsdp) with dualpipe, or another schedule (dualpipev, zb1p, 1f1b) with fsdp")
        }
        if optimizer.reshardsAfterForward, stageCopies > 1 {
            throw ScheduleError(problem: "reshard_after_forward with DualPipe is not modelled: each stage's two copies (ranks s and PP−1−s) would shard their weights over their own replicas",
                                fix: "drop reshard_after_forward with dualpipe, or use another schedule (dualpipev, zb1p, 1f1b)")
        }
        guard let group = optimizer.shardGroup else { return }
        guard group >= 1, weightReplicas % group == 0 else {
            throw ScheduleError(problem: "an FSDP shard group of \(group) does not divide the \(weightReplicas) replicas of a weight (DP × CP)",
                                fix: "use an fsdp_shard_group dividing \(weightReplicas), e.g. the GPUs of a node")
        }
        guard model.moe == nil else {
            throw ScheduleError(problem: "hybrid sharding (fsdp_shard_group) of an MoE model is not modelled", fix: "remove fsdp_shard_group (plain FSDP)")
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

    /// The SMs a collective's kernel holds leave the compute at least one.
    public func checkCollectiveSMs() throws {
        guard let n = collectiveSMs else { return }
        let sms = topology.node.device.smCount
        guard n >= 0, n < sms else {
            throw ScheduleError(problem: "\(n) SMs for a collective's kernel, but the \(topology.node.device.name) has \(sms) SMs in all",
                                fix: "set collective_sms between 0 (the compute keeps every SM) and \(sms - 1) (NCCL holds one SM per channel: 16 across H100 nodes)")
        }
    }
}
