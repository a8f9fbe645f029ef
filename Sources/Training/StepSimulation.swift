import CostModel
import Fabric
import Hardware
import Kernels
import Model
import Schedules

/// One training step on the simulated cluster, at the representative-pipeline fidelity: one
/// pipeline's ranks run the schedule on the discrete-event engine; the all-to-all of each MoE
/// layer is timed on the fluid network of one EP group routed by the real router; the ZeRO-1
/// gradient reduce-scatter and parameter all-gather are priced on the NICs.
public struct StepSimulation: Sendable {
    public let config: StepConfiguration
    public let kernels: KernelCostModel
    /// Routed plans shared with other simulations (a run's phases, a sweep's points).
    public let routingCache: RoutingCache

    /// Each GPU's speed when they vary (nil: all as calibrated).
    public internal(set) var speeds: GPUSpeedVariation?

    public init(config: StepConfiguration, calibration: KernelCalibration, routingCache: RoutingCache = RoutingCache()) throws {
        try config.validate()
        self.config = config
        self.routingCache = routingCache
        speeds = config.gpuSpeedSpread > 0 ? GPUSpeedVariation(spread: config.gpuSpeedSpread, gpus: config.gpus, seed: config.seed) : nil
        kernels = try KernelCostModel(device: config.topology.node.device, calibration: config.calibration ?? calibration, communicationSMs: config.communicationSMs,
                                      gemmCeiling: config.gemmCeiling, attentionCeiling: config.attentionCeiling)
    }

    /// Everything about a step that does not depend on the number of micro-batches: stage
    /// durations, partition, all-to-all times, optimizer time.
    public struct StagePlan: Sendable {
        public var stageDurations: [OpDurations]
        public var stageTimes: [LayerTimes]
        public var stageLayers: [Int]
        public var moeLayer: LayerTimes
        public var dispatchS: Double, combineS: Double
        /// Send time of one activation between stages, seconds.
        public var transferS: Double
        /// Work of one generator stage relative to a PP stage (1/v when interleaved).
        public var stageSize: Double
        /// The memory of the busiest rank under this partition.
        public var memory: TrainingMemory
        /// When the fastest split did not fit and layers were moved until every rank fits: that
        /// split (the busiest-rank balance, or under interleaving the uniform split when its
        /// simulated pipeline is faster), and its busiest rank's bytes. nil when it is the
        /// partition. (Printed as "the load balance".)
        public var movedForMemory: (fastest: [Int], peakBytes: Double)?

        /// Whether the experiment placed the layers (`pipeline_layout`) rather than llmsim.
        public var placedByLayout = false

        /// The layers per stage in short (`StagePartition.runLengths`), and, when they were moved
        /// to fit, the load balance and what it would need.
        public var layersDescription: String {
            StagePartition.runLengths(stageLayers) + (placedByLayout ? " (pipeline_layout)" : "") + (movedForMemory.map {
                " (moved to fit; the load balance " + StagePartition.runLengths($0.fastest) + " needs " + String(format: "%.1f", $0.peakBytes / 1e9) + " GB)"
            } ?? "")
        }

        /// The plan with other stage times (a stage's MoE layers routed differently).
        public func replacingStageTimes(_ times: [LayerTimes]) -> StagePlan {
            var p = self
            p.stageTimes = times
            p.stageDurations = times.map(durations)
            return p
        }

        /// The schedule's durations of a stage that takes `t` (in the generator's stage units).
        func durations(_ t: LayerTimes) -> OpDurations { Self.durations(t, stageSize: stageSize, transfer: transferS) }

        static func durations(_ t: LayerTimes, stageSize: Double, transfer: Double) -> OpDurations {
            OpDurations(forward: t.forward / stageSize, backward: t.backward / stageSize, weight: t.weight / stageSize,
                        forwardBackward: t.overlappedForwardBackward / stageSize, transfer: transfer)
        }
    }

    public func run() throws -> StepResult { try run(microbatches: config.microbatches, plan: try plan()) }

    /// The representative MoE layer's times and the EP group's routed rows per GPU when the
    /// group routes with `seed` instead of the configuration's (through the shared routing
    /// cache): the whole-cluster step's per-stage routings and `MicrobatchRouting`'s draws.
    public func moeDraw(routedWith seed: UInt64) throws -> (layer: LayerTimes, loads: [Int]) {
        var other = config
        other.seed = seed
        let simulation = try StepSimulation(config: other, calibration: kernels.calibration, routingCache: routingCache)
        return (try simulation.plan().moeLayer, try simulation.groupLoads())
    }

    /// The routed rows of each GPU of one EP group under this step's routing (empty for a dense
    /// model).
    public func groupLoads() throws -> [Int] {
        guard let (routing, _) = routingExperiment() else { return [] }
        return try routingCache.plan(for: routing).gpuLoads
    }

    /// Prices the layers and partitions the stages (the expensive part: routing the EP group).
    /// The partition balances the busiest rank's time among those that fit in memory
    /// (`StagePartition.fitting`), with memory counted for `memoryConfig` (default: this step's
    /// configuration; a run's phase passes its full batch and schedule).
    public func plan(memoryConfig: StepConfiguration? = nil) throws -> StagePlan {
        let c = config, arch = c.layerModel, tokens = c.gpuTokens
        // 1. Routing and all-to-all of one EP group.
        let (traffic, dispatchTime, combineTime) = try allToAll()
        // 2. Times of a dense and an MoE layer (all layers of a kind have the same shapes).
        func priced(_ records: [OperationRecord]) -> LayerTimes {
            LayerTimes.price(records, kernels: kernels, dispatchTime: dispatchTime, combineTime: combineTime)
        }
        let x = ShapeTensor(rows: tokens, cols: arch.hiddenSize)
        // Tensor parallelism: each attention block and dense FFN moves its activations over the
        // TP group in the forward and again in the backward, where parts may hide under the
        // column-parallel linears' GEMMs (`TensorParallelCollectives`); a full recomputation
        // repeats the forward's. Routed experts are not TP-split (EP, or expert-TP); shared
        // experts are. Each layer kind gathers in its own Linears' format (`layerCollectives`);
        // these are the embedding's and the BF16 head's.
        let tpCollectives = tensorParallelCollectives
        // The kernels of the TP collectives hold SMs beside the GEMMs they hide under.
        let tpKernelSMs = tensorParallelOverlapSMs
        // Context parallelism: each attention core exchanges keys and values around the CP ring.
        let ring = ContextParallelRing(config: c)
        // Layers of one kind (MoE or dense FFN, the attention window, and the precisions they
        // train in: `bf16_layers` keeps some in BF16) take the same time.
        struct LayerKind: Hashable { var moe: Bool, window: Int?, precision: PrecisionPolicy }
        func kind(_ i: Int) -> LayerKind {
            LayerKind(moe: arch.moe?.isMoE(layer: i) ?? false, window: arch.attentionWindow(layer: i), precision: c.precision.layer(i, of: arch.layers))
        }
        var byKind: [LayerKind: LayerTimes] = [:]
        var passesByKind: [LayerKind: HostIssue.Passes] = [:]
        // FSDP: each chunk gathers its layers' weights and reduce-scatters their gradients (only
        // gathers them, resharded after forward with the reduction deferred), and the compute
        // beside those collectives runs on the SMs their kernels leave.
        let fullySharded = c.optimizer.fullySharded || c.optimizer.reshardsAfterForward
            ? FullyShardedStages(config: c, optimizer: DataParallelOptimizer(config: c, memoryEfficiency: kernels.calibration.elementwiseEfficiency)) : nil
        let taken = fullySharded.map { c.collectiveSMsTaken(crossesNodes: $0.crossesNodes) } ?? 0
        let contendedKernels = taken > 0 ? kernels.leavingSMs(taken) : nil
        /// What `records`, priced at `base`, lose when a collective holds its SMs beside them.
        func slowdown(_ records: [OperationRecord], base: LayerTimes) -> FullyShardedStages.Slowdown {
            guard let contendedKernels else { return .none }
            let slow = LayerTimes.price(records, kernels: contendedKernels, dispatchTime: dispatchTime, combineTime: combineTime)
            return .init(forward: slow.forwardCompute - base.forwardCompute, backward: slow.backwardCompute - base.backwardCompute)
        }
        var slowdownByKind: [LayerKind: FullyShardedStages.Slowdown] = [:]
        func passes(_ records: [OperationRecord]) -> HostIssue.Passes {
            HostIssue.passes(records, kernels: kernels, dispatch: dispatchTime, combine: combineTime)
        }
        let layerTimes = try (0..<arch.layers).map { i -> LayerTimes in
            let k = kind(i), moe = k.moe
            if let t = byKind[k] { return t }
            let layerCollectives = tensorParallelCollectives(k.precision)
            let records = try layerRecords(i, traffic: traffic)
            passesByKind[k] = passes(records)
            var t = priced(records)
            slowdownByKind[k] = slowdown(records, base: t)
            let window = tpKernelSMs.windows(records, kernels: kernels)
            // The FFN's collectives: a dense FFN's, or an MoE layer's shared experts' (a
            // tensor-parallel MLP); routed experts need none (they run on this GPU's share).
            // With Megatron's shared-expert overlap those run beside the all-to-alls instead.
            let ffnCollectives = !moe || (arch.moe?.sharedExperts ?? 0) > 0
            let sideStream = moe && c.sharedExpertOverlap
            let none = TensorParallelTime()
            let ffn = ffnCollectives ? (forward: layerCollectives.blockForward(window: window.mlp), backward: layerCollectives.blockBackward(window: window.mlp))
                                     : (forward: none, backward: none)
            if sideStream {
                SharedExpertOverlap(kernels: kernels).apply(&t, records: records, forwardCollectives: ffn.forward.total, backwardCollectives: ffn.backward.total)
            }
            let forward = layerCollectives.blockForward(window: window.attention) + (sideStream ? none : ffn.forward)
            let backward = layerCollectives.blockBackward(window: window.attention) + (sideStream ? none : ffn.backward)
            let recomputed = c.effectiveRecompute == .full ? forward : none
            (t.tensorParallelForward, t.tensorParallelBackward) = (forward.total, backward.total + recomputed.total)
            (t.tensorParallelContentionForward, t.tensorParallelContentionBackward) = (forward.contention, backward.contention + recomputed.contention)
            (t.contextParallelForward, t.contextParallelBackward) = ring.layer(records, kernels: kernels)
            byKind[k] = t
            return t
        }
        let firstRecords = try records(traffic: traffic) { e in
            _ = try StagePass(arch: arch, layers: 0..<0, embedding: true, head: false, policy: c.precision, recompute: c.recompute,
                                             recomputeModules: c.recomputeModules).run(&e, tokens: tokens)
        }
        var first = priced(firstRecords)
        let firstSlowdown = slowdown(firstRecords, base: first)
        let lastRecords = try records(traffic: traffic) { e in
            _ = try StagePass(arch: arch, layers: arch.layers..<arch.layers, embedding: false, head: true, mtp: true, policy: c.precision, recompute: c.recompute,
                                             recomputeModules: c.recomputeModules).run(&e, tokens: tokens, input: x)
        }
        var last = priced(lastRecords)
        let lastSlowdown = slowdown(lastRecords, base: last)
        // The vocabulary-parallel embedding and head.
        first.tensorParallelForward = tpCollectives.embeddingForward
        first.tensorParallelBackward = tpCollectives.embeddingBackward
        let headWindow = tpKernelSMs.windows(lastRecords, kernels: kernels).other
        last.tensorParallelForward = tpCollectives.headForward(window: headWindow.full)
        let headBackward = tpCollectives.columnParallelBackward(window: headWindow, regather: tpCollectives.half)
        (last.tensorParallelBackward, last.tensorParallelContentionBackward) = (headBackward.total, headBackward.contention)
        // 3. Stage partition balanced by the busiest rank's time.
        let generated = try c.generateSchedule()
        let stages = generated.stagesPerPipeline
        // Ranks that hold several stages (DualPipe: s and PP−1−s; interleaved: v stages) are
        // balanced on the sum of their stages, which is what the schedule waits on.
        // The weight of a layer is what the schedule's steady state runs: DualPipe overlaps a
        // forward and a backward chunk (all-to-alls hidden), the others run them apart.
        let overlapped = c.overlapsForwardAndBackward
        let weight = { (t: LayerTimes) in overlapped ? t.overlappedForwardBackward : t.forward + t.backward }
        let weights = layerTimes.map(weight), firstExtra = weight(first), lastExtra = weight(last)
        // The experiment's own layout, when it gives one, is run as written: not rebalanced, not
        // moved to fit in memory (a plan that overflows is reported, as Megatron would fail).
        let layout = c.pipelineLayout?.stageLayers
        var counts = layout ?? StagePartition.balance(weights: weights, stages: stages, firstExtra: firstExtra, lastExtra: lastExtra,
                                                      rankStages: generated.rankStages)
        // The host launching each stage chunk's operations (`HostIssue`).
        let host = HostIssue(secondsPerOperation: c.hostSecondsPerOperation ?? kernels.calibration.hostSecondsPerOperation)
        let firstPasses = passes(firstRecords), lastPasses = passes(lastRecords)
        let layerPasses = (0..<arch.layers).map { passesByKind[kind($0)]! }
        let layerSlowdowns = (0..<arch.layers).map { slowdownByKind[kind($0)]! }
        // CPU activation offloading (one stage, no recomputation): each layer copies what the
        // memory model says it keeps for the backward to the host and back.
        let offloading = c.activationOffload.map {
            (offload: $0, bytes: StageMemoryModel.layerItems(c, deepSeekSavings: c.effectiveRecompute == .deepseek).map(\.totalBytes))
        }
        func stageTimes(_ counts: [Int]) -> [LayerTimes] {
            var times: [LayerTimes] = [], next = 0
            for (s, n) in counts.enumerated() {
                var t = layerTimes[next..<(next + n)].reduce(LayerTimes(), +)
                if s == 0 { t = t + first }
                if s == stages - 1 { t = t + last }
                host.expose(&t, layers: layerPasses[next..<(next + n)], first: s == 0 ? firstPasses : nil, last: s == stages - 1 ? lastPasses : nil)
                fullySharded?.expose(&t, range: next..<(next + n), layerTimes: layerTimes, slowdowns: layerSlowdowns,
                                     first: s == 0 ? (first, firstSlowdown) : nil, last: s == stages - 1 ? (last, lastSlowdown) : nil)
                if let (offload, bytes) = offloading {
                    offload.expose(&t, layerTimes: Array(layerTimes[next..<(next + n)]), bytes: Array(bytes[next..<(next + n)]), copy: c.topology.node.device.hostCopy)
                }
                times.append(t)
                next += n
            }
            return times
        }
        // Pipeline sends: one micro-batch's BF16 activation (or gradient) crosses the NIC between
        // stages on different nodes, plus one cross-leaf hop.
        let node = c.topology.node
        // With TP each GPU of the group sends its 1/TP slice (Megatron's scatter-gather).
        let transfer = Collective.pointToPoint(bytes: Double(tokens * arch.hiddenSize * 2) / Double(c.tp),
                                               bandwidth: node.nicAchievableBandwidthPerGPU,
                                               latency: c.topology.interNodeLatency)
        // Interleaved 1F1B: the busiest-rank balance can leave model chunks of uneven size, and
        // each chunk passes through the pipeline on its own, so uneven chunks stall it however
        // even the ranks' sums are (Llama 3.1 70B, TP 4, PP 8 × 5 chunks, FP8 on H100: the
        // balance "2 3×5 4 2 3×12 2 1×19" runs 10.79 s, the uniform 2×40 10.48 s). The uniform
        // split (what Megatron-LM runs) competes, and the faster simulated pipeline wins.
        // (DualPipe pairs stage s with PP−1−s on one rank and overlaps them, so rank sums are
        // what it waits on; it is not re-simulated here, which keeps the V3 step at 35 ms.)
        if layout == nil, generated.kind == .interleaved {
            let uniform = StagePartition.uniform(layers: arch.layers, stages: stages)
            func makespan(_ counts: [Int]) throws -> Double {
                let d = stageTimes(counts).map { StagePlan.durations($0, stageSize: generated.stageSize, transfer: transfer) }
                return try ScheduleSimulator(sends: c.pipelineSends).run(generated, stageDurations: Array(repeating: d, count: generated.pipelines)).makespan
            }
            if uniform != counts, try makespan(uniform) < makespan(counts) { counts = uniform }
        }
        let m = memoryConfig ?? c
        let memory = try StageMemoryModel(config: m, deepSeekSavings: m.effectiveRecompute == .deepseek, schedule: m.schedule)
        var moved: (fastest: [Int], peakBytes: Double)?
        if layout == nil, let fitting = StagePartition.fitting(weights: weights, stages: stages, firstExtra: firstExtra, lastExtra: lastExtra,
                                                rankStages: generated.rankStages, memory: memory, start: counts), fitting != counts {
            moved = (counts, TrainingMemory.compute(model: memory, stageLayers: counts).peakBytesPerGpu)
            counts = fitting
        }
        // The layer a plan reports (`ModelArchitecture.representativeLayer`).
        let reported = arch.representativeLayer
        // Interleaved stages are 1/v of a PP stage in the generator's units: undo its scaling.
        return StagePlan(stageDurations: [], stageTimes: [], stageLayers: counts,
                         moeLayer: byKind[kind(reported)]!, dispatchS: dispatchTime, combineS: combineTime,
                         transferS: transfer, stageSize: generated.stageSize,
                         memory: TrainingMemory.compute(model: memory, stageLayers: counts), movedForMemory: moved,
                         placedByLayout: layout != nil).replacingStageTimes(stageTimes(counts))
    }

    /// Runs the schedule with `microbatches` micro-batches per pipeline on a prepared plan: one
    /// pipeline, or, when GPU speeds vary, one per synchronisation group (`runGroups`), the
    /// slowest group's.
    public func run(microbatches: Int, plan: StagePlan, schedule kind: ScheduleKind? = nil) throws -> StepResult {
        try runGroups(microbatches: microbatches, groupPlans: [plan], schedule: kind).slowest
    }

    /// The pipelines of each synchronisation group (`StepConfiguration.synchronisationGroups`)
    /// on `groupPlans` (one per group, or one for all), each rank's compute stretched by its
    /// group's slowest GPU when speeds vary (`GPUSpeedVariation`); the slowest group's step and
    /// every group's step time, seconds.
    public func runGroups(microbatches: Int, groupPlans: [StagePlan], schedule kind: ScheduleKind? = nil) throws -> (slowest: StepResult, groupSteps: [Double]) {
        // The groups differ when GPU speeds, instruction times or micro-batch routings vary;
        // otherwise each plan's one pipeline stands for its groups.
        let routing = config.routesEachMicrobatch ? try MicrobatchRouting(simulation: self, plan: groupPlans[0]) : nil
        let varies = speeds != nil || config.instructionJitter > 0 || routing != nil
        let groups = varies ? config.synchronisationGroups : groupPlans.count
        precondition(groupPlans.count == 1 || groupPlans.count == groups, "one plan, or one per synchronisation group")
        var slowest: StepResult?, steps: [Double] = []
        for g in 0..<groups {
            let step = try runPipeline(microbatches: microbatches, plan: groupPlans[groupPlans.count == 1 ? 0 : g], schedule: kind,
                                       group: varies ? g : nil, routing: routing)
            steps.append(step.stepTimeS)
            if step.stepTimeS > slowest?.stepTimeS ?? -.infinity { slowest = step }
        }
        slowest!.moeLayerDrawsS = routing?.layerTimes(overlapped: config.overlapsForwardAndBackward)
        return (slowest!, steps)
    }

    /// One pipeline on `plan`; with `group`, when GPU speeds vary, each stage's compute
    /// stretched by the slowest GPU of that group on the rank that runs it (DualPipe runs
    /// stage s on rank s in one direction and on rank PP−1−s in the other), and each
    /// instruction's duration scaled by the group's jitter draw and by its micro-batch's
    /// routing draws (`MicrobatchRouting`).
    func runPipeline(microbatches: Int, plan p: StagePlan, schedule kind: ScheduleKind? = nil, group: Int? = nil,
                     routing: MicrobatchRouting? = nil) throws -> StepResult {
        let generated = try config.generateSchedule(kind, microbatches: microbatches)
        guard generated.stagesPerPipeline == p.stageDurations.count else {
            throw ScheduleError(problem: "schedule \(generated.kind.rawValue) has \(generated.stagesPerPipeline) stages, the plan \(p.stageDurations.count)",
                                fix: "use a schedule with the same number of stages")
        }
        var durations = Array(repeating: p.stageDurations, count: generated.pipelines)
        if let speeds, let group {
            // A rank beyond the configuration's devices per pipeline (a fallback schedule on
            // more ranks) takes the GPU of the same position modulo those devices.
            let slowdown = (0..<generated.ranks).map { speeds.slowdown(rank: $0 % config.devicesPerPipeline, group: group, config: config) }
            for (pipeline, ranks) in generated.stageRanks.enumerated() {
                for (stage, rank) in ranks.enumerated() { durations[pipeline][stage] = p.durations(p.stageTimes[stage].computeScaled(by: slowdown[rank])) }
            }
        }
        let jitter = config.instructionJitter > 0
            ? try InstructionJitter(cv: config.instructionJitter, seed: config.seed).scales(for: generated, group: group ?? 0) : nil
        let routed = routing?.scales(for: generated, plan: p, moeLayers: p.moeLayersPerStage(config.model), group: group ?? 0)
        let scale = Self.product(jitter, routed)
        let pipeline = try ScheduleSimulator(sends: config.pipelineSends).run(generated, stageDurations: durations, instructionScale: scale)
        // Each rank's optimizer step runs on its own (after its last instruction, or overlapping its
        // drain); the step ends with the last rank's. The optimizer phase is what sticks out
        // past the pipeline.
        let zero = DataParallelOptimizer(config: config, memoryEfficiency: kernels.calibration.elementwiseEfficiency)
        let ranks = zero.finishTimes(segments: pipeline.segments, pipelineEnds: pipeline.pipelineEndPerRank, rankStages: generated.rankStages,
                                     stageBuckets: RankParameters.gradientBuckets(config, stageLayers: p.stageLayers),
                                     nicShare: p.stageTimes.map(\.backwardAllToAllShare))
        let finish = ranks.map(\.finish).max() ?? pipeline.makespan
        var result = summarize(pipeline: pipeline, optimizer: max(0, finish - pipeline.makespan), counts: p.stageLayers, stageTimes: p.stageTimes,
                               moeLayer: p.moeLayer, dispatch: p.dispatchS, combine: p.combineS, microbatches: microbatches)
        result.hostWaitS = Double(config.pipelinePasses) * Self.hostWait(pipeline.segments, rank: 0, stageTimes: p.stageTimes)
        result.optimizerPerRankS = ranks.map(\.own)
        result.timeBreakdownPerRank = StepTimeBreakdown.perRank(pipeline: pipeline, stageTimes: p.stageTimes, optimizer: ranks,
                                                                end: max(finish, pipeline.makespan), passes: config.pipelinePasses)
        result.optimizerSegments = ranks.enumerated().flatMap { $1.segments(rank: $0) }
        return result
    }

    /// Element-wise product of two per-rank, per-instruction factor grids (either may be absent).
    static func product(_ a: [[Double]]?, _ b: [[Double]]?) -> [[Double]]? {
        guard let a, let b else { return a ?? b }
        return zip(a, b).map { zip($0, $1).map(*) }
    }

    /// The host waits inside `rank`'s instructions at their nominal durations
    /// (`StepTimeBreakdown.instruction(_:stages:)`).
    static func hostWait(_ segments: [ScheduleSegment], rank: Int, stageTimes: [LayerTimes]) -> Double {
        segments.filter { $0.rank == rank }.reduce(0) { total, s in
            total + StepTimeBreakdown.instruction(s, stageTimes: stageTimes).hostS
        }
    }

    func summarize(pipeline p: ScheduleResult, optimizer: Double, counts: [Int], stageTimes: [LayerTimes],
                   moeLayer: LayerTimes, dispatch: Double, combine: Double, microbatches: Int) -> StepResult {
        let c = config
        // Each of the step's pipeline passes repeats the simulated one (the last, whose
        // backwards the gradient reduction overlaps): its phases and bubble count once per pass.
        let passes = Double(c.pipelinePasses)
        var phase = [[String: Double]](repeating: [:], count: p.bubblePerRank.count)
        for s in p.segments { phase[s.rank][s.label, default: 0] += passes * (s.end - s.start) }
        let ranks = phase.indices.map { r in
            RankPhases(forwardOnlyS: phase[r]["F"] ?? 0, steadyS: phase[r]["F&B"] ?? 0, backwardInputS: (phase[r]["B"] ?? 0) + (phase[r]["Bi"] ?? 0),
                       backwardWeightS: phase[r]["W"] ?? 0, bubbleS: passes * p.bubblePerRank[r])
        }
        let rank0 = ranks[0]
        let step = passes * p.makespan + optimizer
        let tokensPerStep = c.batchPipelines * microbatches * c.microbatchTokens
        let flops = c.model.trainingFLOPs(sequenceLength: c.sequenceTokens)
        let perGPU = { (f: Double) in f * Double(tokensPerStep) / step / Double(c.gpus) }
        let bf16Peak = c.topology.node.device.peak(.bf16).flops
        return StepResult(
            stepTimeS: step, forwardOnlyS: rank0.forwardOnlyS, steadyS: rank0.steadyS, backwardInputS: rank0.backwardInputS,
            backwardWeightS: rank0.backwardWeightS, bubbleS: rank0.bubbleS, optimizerS: optimizer, phasesPerRank: ranks,
            optimizerPerRankS: [], pipelineS: passes * p.makespan, optimizerSegments: [],
            tokensPerStep: tokensPerStep, tokensPerDay: Double(tokensPerStep) * 86_400 / step,
            tflopsPerGpuCausal: perGPU(flops.causal) / 1e12, tflopsPerGpuNoncausal: perGPU(flops.noncausal) / 1e12,
            mfuCausal: perGPU(flops.causal) / bf16Peak, mfuNoncausal: perGPU(flops.noncausal) / bf16Peak,
            perRankUtilisation: p.busyPerRank.map { $0 / p.makespan }, stageLayers: counts,
            stageForwardS: stageTimes.map(\.forward), stageBackwardS: stageTimes.map(\.backward),
            stageWeightS: stageTimes.map(\.weight), stageForwardBackwardS: stageTimes.map(\.overlappedForwardBackward),
            moeLayer: moeLayer, dispatchS: dispatch, combineS: combine, segments: p.segments)
    }
}
