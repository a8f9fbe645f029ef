import ConfigIO
import CostModel
import Fabric
import Foundation
import Hardware
import Kernels
import Model
import Schedules

/// Reads the step part of an experiment file (strict: unknown keys are errors). The full key
/// reference is `docs/experiment-schema.md`.
///
/// ```yaml
/// base: deepseek-v3.yaml                  # optional: inherit every key, override some
/// model: deepseek-v3                      # catalog name or path to a config.json
/// model_overrides: {topk_group: 8}        # optional: config.json keys replaced
/// topology: ../Topologies/deepseek-v3-mpft.yaml   # or {file: ..., nodes: 512} or inline
/// hardware: {node: HGX-H200-8GPU, nic_gbit_s: 800, scale_up_gb_s: 450, host_copy_gb_s: 52}   # optional overrides
/// parallel: {pp: 16, ep: 64, tp: 1}        # tp: GPUs of a node; sp: sequence parallelism (default true); tp_overlap: none | backward | pipelined; tp_overlap_sms: {qkv_wgrad: 24, …} (userbuffers kernels' SMs); pipeline_layout: "Et|(tt|)*30mL" (Megatron's notation), or Megatron's account_for_embedding/loss_in_pipeline_split, num_layers_in_first/last_pipeline_stage
/// schedule: dualpipe                      # gpipe 1f1b interleaved zb1p dualpipe dualpipev
/// microbatches: 120                       # per pipeline per step
/// microbatch_tokens: 4096                 # per GPU
/// microbatch_sequences: 1                 # sequences in those tokens (Megatron's micro-batch size)
/// precision: fp8                          # fp8 (DeepSeek's tiles) | fp8-tensor (FP8-CS) | fp8-mx (MXFP8, Blackwell) | nvfp4 (NVFP4, Blackwell) | bf16
/// bf16_layers: {start: 0, end: 4}         # optional: decoder layers kept in BF16 under fp8-tensor, fp8-mx or nvfp4
/// recompute: deepseek                     # none | deepseek | selective | full
/// attention_kernel: flash                 # flash | unfused (scores materialized, pre-2022 Megatron)
/// expert_bias_kernels: fused              # fused | per-expert (GPT-OSS's expert biases as NeMo AutoModel adds them)
/// cross_entropy: fused                    # fused | eager | eager-fp32 (PyTorch's F.cross_entropy, after logits.float()) | megatron | megatron-native
/// gemm_ceiling: peak                      # peak | measured (GEMMs keep their fraction of the GPU's measured best matmul)
/// attention_ceiling: units                # units | peak (attention bound by the SM's scarcest unit, or by its tensor cores)
/// communication_sms: 20
/// collective_sms: 16                      # optional: SMs an FSDP collective holds beside the compute (default: the node's figure; 0: none)
/// routing: {skew: uniform, seed: 1}       # also gate, sequence_concentration (β), microbatch_routings
/// calibration: {attention_forward_tflops_at_112_sms: 500} # optional: kernel figures replaced, or a file of your own
/// ```
/// Paths are relative to the file that wrote them.
public enum StepExperiment {
    /// Every top-level key an experiment file may have (the step's, `run`, `sweep`, `outputs`).
    public static let keys = ["base", "model", "model_overrides", "topology", "hardware", "parallel", "schedule", "virtual_stages",
                              "microbatches", "pipeline_passes", "microbatch_tokens", "microbatch_sequences", "precision", "bf16_layers", "optimizer", "recompute", "recompute_modules", "attention_kernel", "expert_bias_kernels", "cross_entropy", "gemm_ceiling", "attention_ceiling", "communication_sms", "all_to_all_sms", "collective_sms", "moe_dispatcher", "deepep_kernels", "moe_shared_expert_overlap", "routing",
                              "fidelity", "gpu_speed_spread_percent", "instruction_jitter_percent", "host_us_per_operation", "activation_offload", "calibration", "run", "sweep", "outputs"]
    static let hardwareKeys = ["node", "device", "nic_gbit_s", "scale_up_gb_s", "host_copy_gb_s"]
    static let optimizerKeys = ["distributed", "moments", "gradients", "fsdp", "fsdp_shard_group", "fsdp_implementation", "reshard_after_forward", "expert_gradients", "gradient_accumulation", "embedding_gradient", "master", "clip_grad_norm", "update_kernels", "weight_decay"]
    /// The values of `precision` and the recipes they name.
    static let precisions: [(name: String, policy: PrecisionPolicy)] = [("fp8", .deepSeekFP8), ("fp8-tensor", .tensorScaledFP8), ("fp8-mx", .mxFP8), ("nvfp4", .nvfp4), ("bf16", .bf16)]
    /// Formats `optimizer.moments` and `optimizer.gradients` accept.
    static let optimizerFormats: [Precision] = [.fp32, .bf16, .fp16]

    public static func load(path: String, models: ModelCatalog, hardware: HardwareCatalog) throws -> StepConfiguration {
        try parse(try ConfigDocument.load(path: path), models: models, hardware: hardware)
    }

    /// Parses an assembled experiment document (bases merged, sweep values set).
    public static func parse(_ v: ConfigValue, models: ModelCatalog, hardware: HardwareCatalog) throws -> StepConfiguration {
        try v.requireKnownKeys(keys)
        let model = try parseModel(v, models: models)
        let topology = try parseCluster(v, hardware: hardware)
        let parallel = try v.required("parallel")
        try parallel.requireKnownKeys(["pp", "ep", "etp", "tp", "cp", "sp", "tp_overlap", "tp_overlap_sms", "overlap_grad_reduce", "overlap_param_gather", "pipeline_sends", "overlap_forward_backward", "pipeline_layout",
                                      "account_for_embedding_in_pipeline_split", "account_for_loss_in_pipeline_split",
                                      "num_layers_in_first_pipeline_stage", "num_layers_in_last_pipeline_stage"])
        let tp = try parallel.positiveInt("tp", default: 1)
        let schedule = try v.choice("schedule", ScheduleKind.self)
        let precisionName = try v.choice("precision", precisions.map(\.name))
        var precision = precisions.first { $0.name == precisionName }!.policy
        try checkPrecision(precision, name: precisionName, on: topology.node.device, at: try v.required("precision"))
        try parseBF16Layers(v, into: &precision, name: precisionName, layers: model.layers)
        var skew = ExpertSkew.uniform, seed: UInt64 = 1, gate = GateKind.router
        var sequenceConcentration: Double?, microbatchRoutings = 1
        if let routing = try v.optional("routing") {
            try routing.requireKnownKeys(["skew", "seed", "gate", "sequence_concentration", "microbatch_routings"])
            if let s = try routing.optional("skew") {
                do {
                    skew = try ExpertSkew.parsing(try s.string(), resolve: s.resolvePath)
                    if let router = model.routerConfig { try skew.check(experts: router.experts) }
                } catch let e as KernelError { throw s.error(e.problem, fix: e.fix) }
            }
            seed = UInt64(try routing.positiveInt("seed", default: 1, allowZero: true))
            if let g = try routing.choiceIfPresent("gate", GateKind.self) {
                gate = g
                do { try gate.check(skew: skew) } catch let e as KernelError { throw try routing.required("skew").error(e.problem, fix: e.fix) }
            }
            if let beta = try routing.optional("sequence_concentration") {
                let value = try routing.positiveDouble("sequence_concentration")
                do {
                    try SequencePopularity.check(concentration: value)
                    try gate.check(sequenceConcentration: value)
                } catch let e as KernelError { throw beta.error(e.problem, fix: e.fix) }
                sequenceConcentration = value
            }
            if let draws = try routing.optional("microbatch_routings") {
                microbatchRoutings = try routing.positiveInt("microbatch_routings")
                guard microbatchRoutings <= MicrobatchRouting.maxDraws else {
                    throw draws.error("\(microbatchRoutings) routings per step is more than the \(MicrobatchRouting.maxDraws) llmsim draws",
                                      fix: "16 draws already sample the spread of a layer's time; use at most \(MicrobatchRouting.maxDraws)")
                }
            } else if sequenceConcentration != nil {
                microbatchRoutings = MicrobatchRouting.defaultDraws
            }
        }
        var config = StepConfiguration(
            model: model, topology: topology, pp: try parallel.positiveInt("pp"), ep: try parallel.positiveInt("ep", default: 1),
            schedule: schedule, virtualStages: try v.positiveInt("virtual_stages", default: 2),
            microbatches: try v.positiveInt("microbatches"), microbatchTokens: try v.positiveInt("microbatch_tokens"),
            precision: precision,
            recompute: try v.choiceIfPresent("recompute", RecomputePolicy.self),
            communicationSMs: try v.positiveInt("communication_sms", default: 20),
            routingSkew: skew, seed: seed)
        config.routingGate = gate
        config.sequenceConcentration = sequenceConcentration
        config.microbatchRoutings = microbatchRoutings
        config.tp = tp
        config.etp = try parallel.positiveInt("etp", default: 1)
        if let sms = try v.optional("communication_sms") {
            // Infeasible rather than malformed: the limit is the device's (a sweep over GPUs may
            // reach one with fewer SMs).
            do { try config.checkCommunicationSMs() } catch let e as ScheduleError { throw sms.error(e.problem, fix: e.fix).markedInfeasible }
        }
        if let passes = try v.optional("pipeline_passes") {
            config.pipelinePasses = try v.positiveInt("pipeline_passes")
            do { try config.checkPipelinePasses() } catch let e as ScheduleError { throw passes.error(e.problem, fix: e.fix) }
        }
        if let sms = try v.optional("collective_sms") {
            config.collectiveSMs = try v.positiveInt("collective_sms", allowZero: true)
            do { try config.checkCollectiveSMs() } catch let e as ScheduleError { throw sms.error(e.problem, fix: e.fix).markedInfeasible }
        }
        if let dispatcher = try v.choiceIfPresent("moe_dispatcher", MoEDispatcher.self) { config.moeDispatcher = dispatcher }
        if let release = try v.choiceIfPresent("deepep_kernels", DeepEPKernels.self) { config.deepepKernels = release }
        if let sms = try v.optional("all_to_all_sms") {
            config.allToAllSMs = try v.positiveInt("all_to_all_sms")
            do { try config.checkAllToAllSMs() } catch let e as ScheduleError { throw sms.error(e.problem, fix: e.fix).markedInfeasible }
        }
        if let modules = try v.optional("recompute_modules") {
            // Megatron-LM's selective recomputation replaces the model's default; it does not
            // combine with another recomputation.
            let set = try parseRecomputeModules(modules)
            if let recompute = config.recompute, recompute != RecomputePolicy.none {
                throw modules.error("recompute_modules is Megatron-LM's selective recomputation and replaces recompute: \(recompute.rawValue)",
                                    fix: "set recompute: none, or drop recompute_modules")
            }
            config.recompute = RecomputePolicy.none
            config.recomputeModules = set
        }
        if let sequences = try v.optional("microbatch_sequences") {
            config.microbatchSequences = try v.positiveInt("microbatch_sequences")
            do { try config.checkMicrobatchSequences() } catch let e as ScheduleError { throw sequences.error(e.problem, fix: e.fix) }
        }
        if let kernel = try v.choiceIfPresent("attention_kernel", AttentionKernel.self) { config.attentionKernel = kernel }
        if let kernels = try v.choiceIfPresent("expert_bias_kernels", ExpertBiasKernels.self) { config.expertBiasKernels = kernels }
        if let kernels = try v.choiceIfPresent("cross_entropy", CrossEntropyKernels.self) { config.crossEntropyKernels = kernels }
        if let ceiling = try v.choiceIfPresent("gemm_ceiling", GEMMCeiling.self) { config.gemmCeiling = ceiling }
        if let ceiling = try v.choiceIfPresent("attention_ceiling", AttentionCeiling.self) { config.attentionCeiling = ceiling }
        if let cp = try parallel.optional("cp") {
            config.cp = try parallel.positiveInt("cp")
            do { try config.checkContextParallel() } catch let e as ScheduleError { throw cp.error(e.problem, fix: e.fix).markedInfeasible }
        }
        config.sequenceParallel = try parallel.optional("sp")?.bool() ?? true
        if let overlap = try parallel.choiceIfPresent("tp_overlap", TensorParallelOverlap.self) {
            config.tensorParallelOverlap = overlap
            do { try config.checkTensorParallelOverlap() } catch let e as ScheduleError { throw try parallel.required("tp_overlap").error(e.problem, fix: e.fix) }
        }
        // Userbuffers run only under `tp_overlap: pipelined` with TP > 1; elsewhere the counts
        // are checked and kept but hold nothing (a sweep over tp_overlap may keep them).
        if let sms = try parallel.optional("tp_overlap_sms") {
            config.userbufferSMs = try TensorParallelOverlapSMs.parse(sms)
            do { try config.checkUserbufferSMs() } catch let e as ScheduleError { throw sms.error(e.problem, fix: e.fix).markedInfeasible }
        }
        config.overlapGradReduce = try parallel.optional("overlap_grad_reduce")?.bool() ?? false
        if let pairs = try parallel.optional("overlap_forward_backward") {
            config.pairsForwardBackward = try pairs.bool()
            if config.pairsForwardBackward {
                do { try config.schedule.checkPairs(pp: config.pp, sequenceChunks: config.sequenceChunks) } catch let e as ScheduleError { throw pairs.error(e.problem, fix: e.fix) }
            }
        }
        if let sends = try parallel.choiceIfPresent("pipeline_sends", PipelineSends.self) { config.pipelineSends = sends }
        if let o = try v.optional("optimizer") {
            config.optimizer = try parseOptimizer(o)
            if let group = try o.optional("fsdp_shard_group") {
                do { try config.checkShardGroup() } catch let e as ScheduleError { throw group.error(e.problem, fix: e.fix).markedInfeasible }
            }
        }
        if let gather = try parallel.optional("overlap_param_gather") {
            config.overlapParamGather = try gather.bool()
            do { try config.checkParamGatherOverlap() } catch let e as ScheduleError { throw gather.error(e.problem, fix: e.fix) }
        }
        if let fidelity = try v.choiceIfPresent("fidelity", StepFidelity.self) { config.fidelity = fidelity }
        if let spread = try v.optional("gpu_speed_spread_percent") {
            config.gpuSpeedSpread = try v.positiveDouble("gpu_speed_spread_percent", default: 0, allowZero: true) / 100
            do { try config.checkGPUSpeedSpread() } catch let e as ScheduleError { throw spread.error(e.problem, fix: e.fix) }
        }
        if let jitter = try v.optional("instruction_jitter_percent") {
            config.instructionJitter = try v.positiveDouble("instruction_jitter_percent", default: 0, allowZero: true) / 100
            do { try config.checkInstructionJitter() } catch let e as ScheduleError { throw jitter.error(e.problem, fix: e.fix) }
        }
        if let host = try v.optional("host_us_per_operation") {
            config.hostSecondsPerOperation = try v.positiveDouble("host_us_per_operation", default: 0, allowZero: true) * 1e-6
            do { try config.checkHostIssue() } catch let e as ScheduleError { throw host.error(e.problem, fix: e.fix) }
        }
        if let calibration = try v.optional("calibration") { config.calibration = try parseCalibration(calibration) }
        // After the dispatcher and the pairs it depends on.
        if let overlap = try v.optional("moe_shared_expert_overlap") {
            config.sharedExpertOverlap = try overlap.bool()
            do { try config.checkSharedExpertOverlap() } catch let e as ScheduleError { throw overlap.error(e.problem, fix: e.fix) }
        }
        if let offload = try v.optional("activation_offload") {
            try offload.requireKnownKeys(["layers", "handler"])
            config.activationOffload = ActivationOffload(layers: try offload.positiveInt("layers", allowZero: true),
                                                         handler: try offload.choiceIfPresent("handler", ActivationOffload.Handler.self) ?? .transformerEngine)
            do { try config.checkActivationOffload() } catch let e as ScheduleError { throw offload.error(e.problem, fix: e.fix).markedInfeasible }
        }
        // The schedule's own rules first, reported at its key; then the layout against the
        // schedule's stages (a sweep over the pipeline may reach plans it does not fit); then
        // the rest of the plan.
        do { try schedule.checkPlan(pp: config.pp, microbatches: config.microbatches, virtualStages: config.virtualStages, sequenceChunks: config.sequenceChunks) }
        catch let e as ScheduleError { throw try v.required("schedule").error(e.problem, fix: e.fix).markedInfeasible }
        if let layout = try parallel.optional("pipeline_layout") {
            do { config.pipelineLayout = try PipelineLayout(parsing: try layout.string()) }
            catch let e as ScheduleError { throw layout.error(e.problem, fix: e.fix) }
            do { try config.checkPipelineLayout() } catch let e as ScheduleError { throw layout.error(e.problem, fix: e.fix).markedInfeasible }
        }
        try parseMegatronSplit(parallel, into: &config)
        do { try config.validate() } catch let e as ScheduleError { throw try v.required("parallel").error(e.problem, fix: e.fix).markedInfeasible }
        return config
    }

    /// `recompute_modules:` — a list of Megatron-LM's module names (`RecomputeModule`).
    static func parseRecomputeModules(_ modules: ConfigValue) throws -> Set<RecomputeModule> {
        let names = RecomputeModule.allCases.map(\.rawValue)
        return Set(try modules.elements().map { item in
            let name = try item.string()
            guard let module = RecomputeModule(rawValue: name) else {
                throw item.error("unknown module '\(name)'", fix: "Megatron-LM's modules llmsim models: \(names.joined(separator: ", "))")
            }
            return module
        })
    }

    /// `optimizer:` — `distributed` (ZeRO-1, default true), `moments` and `gradients` (`fp32`,
    /// `bf16` or `fp16`; defaults V3's BF16 moments and FP32 gradients), `fsdp` (ZeRO-3, default
    /// false), `fsdp_shard_group` (hybrid sharding over that many replicas), `fsdp_implementation`
    /// (`megatron-fsdp`, the default, or `fsdp2`: `FullyShardedImplementation`),
    /// `reshard_after_forward` (default false: `OptimizerStates.reshardsAfterForward`),
    /// `expert_gradients` (the routed experts' gradient format, default `gradients`),
    /// `gradient_accumulation` (`fused`, the default, or `unfused`: `GradientAccumulation`),
    /// `embedding_gradient` (`dense`, the default, or `sparse`: `EmbeddingGradient`), `master` (`fp32`,
    /// the default, or `none` for pure BF16 training), `clip_grad_norm` (default true: the
    /// global-norm barrier before the update), `update_kernels` (`fused`, the default,
    /// `megatron` or `foreach`: `OptimizerUpdateKernels`), `weight_decay` (AdamW's, ≥ 0,
    /// default 0.1).
    static func parseOptimizer(_ o: ConfigValue) throws -> OptimizerStates {
        try o.requireKnownKeys(optimizerKeys)
        let names = optimizerFormats.map(\.rawValue).sorted()
        var states = OptimizerStates.deepSeekV3
        states.distributed = try o.optional("distributed")?.bool() ?? states.distributed
        if let m = try o.choiceIfPresent("moments", names) { states.moments = Precision(rawValue: m)! }
        if let g = try o.choiceIfPresent("gradients", names) { states.gradients = Precision(rawValue: g)! }
        if let master = try o.choiceIfPresent("master", ["fp32", "none"]) { states.masterWeights = master == "fp32" }
        states.clipsGradients = try o.optional("clip_grad_norm")?.bool() ?? states.clipsGradients
        if let fsdp = try o.optional("fsdp") {
            states.fullySharded = try fsdp.bool()
            if states.fullySharded, !states.distributed {
                throw fsdp.error("fsdp shards the weights and gradients on top of the distributed optimizer's states, which distributed: false turns off",
                                 fix: "remove distributed: false, or fsdp")
            }
        }
        if let group = try o.optional("fsdp_shard_group") {
            guard states.fullySharded else {
                throw group.error("fsdp_shard_group is hybrid sharding (HSDP), a form of fsdp, which is off", fix: "set fsdp: true, or remove fsdp_shard_group")
            }
            states.shardGroup = try o.positiveInt("fsdp_shard_group")
        }
        if let implementation = try o.choiceIfPresent("fsdp_implementation", FullyShardedImplementation.self) {
            guard states.fullySharded else {
                throw try o.required("fsdp_implementation").error("fsdp_implementation says how FSDP copies around its collectives, and fsdp is off",
                                                                  fix: "set fsdp: true, or remove fsdp_implementation")
            }
            states.fullyShardedImplementation = implementation
        }
        // The same format as the rest is no separate format.
        if let g = try o.choiceIfPresent("expert_gradients", names), g != states.gradients.rawValue {
            guard !states.fullySharded else {
                throw try o.required("expert_gradients").error("under fsdp every gradient is reduced in the one reduce format (gradients: \(states.gradients.rawValue))",
                                                             fix: "remove expert_gradients, or fsdp")
            }
            states.expertGradients = Precision(rawValue: g)!
        }
        if let accumulation = try o.choiceIfPresent("gradient_accumulation", GradientAccumulation.self) {
            guard !(states.fullySharded && accumulation == .unfused) else {
                throw try o.required("gradient_accumulation").error("under fsdp each micro-batch's gradients are reduce-scattered and accumulate as shards (1/replicas of the bytes), not whole",
                                                                     fix: "remove gradient_accumulation, or fsdp")
            }
            states.gradientAccumulation = accumulation
        }
        if let kind = try o.choiceIfPresent("embedding_gradient", EmbeddingGradient.self) {
            guard !(states.fullySharded && kind == .sparse) else {
                throw try o.required("embedding_gradient").error("fsdp reduce-scatters dense gradients; a sparse embedding gradient has no shards to reduce (PyTorch's FSDP refuses sparse gradients)",
                                                                  fix: "remove embedding_gradient, or fsdp")
            }
            states.embeddingGradient = kind
        }
        states.weightDecay = try o.positiveDouble("weight_decay", default: states.weightDecay, allowZero: true)
        if let kernels = try o.choiceIfPresent("update_kernels", OptimizerUpdateKernels.self) {
            guard kernels != .megatron || states.masterWeights else {
                throw try o.required("update_kernels").error("Megatron-Core's distributed optimizer updates an FP32 master and copies it into the BF16 weights, and master: none keeps no master",
                                                             fix: "use update_kernels: fused (one kernel on the BF16 weights) or foreach, or remove master: none")
            }
            states.updateKernels = kernels
        }
        if let reshard = try o.optional("reshard_after_forward") {
            states.reshardsAfterForward = try reshard.bool()
            if states.reshardsAfterForward, states.fullySharded {
                throw reshard.error("reshard_after_forward shards the weights of the distributed optimizer's plan; fsdp already shards them (and the gradients)",
                                    fix: "remove reshard_after_forward (fsdp reshards), or fsdp")
            }
            if states.reshardsAfterForward, !states.distributed {
                throw reshard.error("reshard_after_forward shards the weights like the distributed optimizer's states, which distributed: false turns off",
                                    fix: "remove distributed: false, or reshard_after_forward")
            }
        }
        return states
    }

    /// The cluster: `topology:` with the node as `hardware:` overrides it, checked buildable.
    public static func parseCluster(_ v: ConfigValue, hardware: HardwareCatalog) throws -> Topology {
        var topology = try parseTopology(try v.required("topology"), hardware: hardware)
        if let h = try v.optional("hardware") {
            topology.node = try parseHardware(h, node: topology.node, catalog: hardware)
            try topology.validate(file: h.sourceFile)
        }
        return topology
    }

    /// `model:` (catalog name or config.json path) with optional `model_overrides:` merged over
    /// the config.json keys (checked by the same strict reader).
    static func parseModel(_ v: ConfigValue, models: ModelCatalog) throws -> ModelArchitecture {
        let nameValue = try v.required("model")
        let name = try nameValue.string()
        let isPath = name.hasSuffix(".json")
        let entry: ModelCatalog.Entry
        do { entry = try models.resolve(isPath ? nameValue.resolvePath(name) : name).1 }
        catch let e as ConfigError where e.file == nil { throw nameValue.error(e.problem, fix: e.fix) }
        guard let overrides = try v.optional("model_overrides") else {
            return try HFConfig.load(path: entry.configPath, name: isPath ? nil : entry.name)
        }
        let label = try overrides.keys().map { "\($0)=\((try? overrides.required($0).string()) ?? "…")" }.joined(separator: ",")
        return try HFConfig.parse(try ConfigDocument.overlay(overrides, onFile: entry.configPath), name: "\(entry.name) (\(label))")
    }

    /// `topology:` as a file path, a mapping `{file: PATH, KEY: override…}`, or an inline
    /// description with the keys of a topology file.
    public static func parseTopology(_ t: ConfigValue, hardware: HardwareCatalog) throws -> Topology {
        func existing(_ value: ConfigValue) throws -> String {
            try value.existingPath(of: "topology", fix: "give a path relative to the experiment file, e.g. ../Topologies/deepseek-v3-mpft.yaml")
        }
        if case .scalar = t.node { return try Topology.load(path: try existing(t), catalog: hardware) }
        guard let fileValue = try t.optional("file") else { return try Topology.parse(t, catalog: hardware) }
        return try Topology.parse(try ConfigDocument.overlay(t.removing("file"), onFile: try existing(fileValue)), catalog: hardware)
    }

    /// `hardware:` overrides of the topology's node: another node template, another GPU in the
    /// same node, the NIC line rate (Gb/s, as marketed), the scale-up bandwidth (GB/s per
    /// direction) or the host↔device copy rate (GB/s, both directions: what activation offloading
    /// copies at). Achievable rates keep the template's achievable fraction.
    public static func parseHardware(_ h: ConfigValue, node: NodeTemplate, catalog: HardwareCatalog) throws -> NodeTemplate {
        try h.requireKnownKeys(hardwareKeys)
        var node = node
        if let n = try h.optional("node") { node = try n.entry(of: catalog.nodes, what: "node template") }
        if let d = try h.optional("device") { node.device = try d.entry(of: catalog.devices, what: "device") }
        if try h.optional("nic_gbit_s") != nil {
            let bytes = try h.positiveDouble("nic_gbit_s") * 1e9 / 8
            node.nicAchievableBandwidth *= bytes / node.nicBandwidth
            node.nicBandwidth = bytes
        }
        if try h.optional("scale_up_gb_s") != nil {
            node.device.scaleUpBandwidth = try h.positiveDouble("scale_up_gb_s") * 1e9
        }
        if try h.optional("host_copy_gb_s") != nil {
            node.device.measuredHostCopy = HostCopyBandwidth(both: try h.positiveDouble("host_copy_gb_s") * 1e9)
        }
        return node
    }
}
