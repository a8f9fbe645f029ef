import Fabric
import Hardware
import Model
import Schedules

/// The memory of every rank as a function of the stage partition. Everything that does not
/// depend on the partition is taken once: the schedule's in-flight profile (`InflightProfile`,
/// from program order), each layer's parameters and activation bytes, the fixed reserves. A
/// partition is then priced by sums, fast enough for the stage partitioner to try many
/// (`StagePartition.fitting`); `TrainingMemory` reports one with its breakdown.
///
/// Terms per rank (see `TrainingMemory` for the sources): BF16 weights and the gradients of
/// every parameter it holds (under FSDP its shard of them, plus whole-layer buffers); the
/// optimizer states of its ZeRO-1 shard; the activations of each
/// in-flight micro-batch of each of its stages, plus the cached prefix K/V of chunked long
/// sequences (each in-flight chunk keeps, for each layer of its stage, the keys it attends
/// to); on the last stage, what the head, the loss and the MTP modules keep per in-flight
/// micro-batch and the loss's transient peak (`HeadActivations`); the MoE dispatcher's buffers
/// (`ExpertParallelBuffers`) and workspace.
public struct StageMemoryModel: Sendable {
    public let schedule: PipelineSchedule
    public let profile: InflightProfile
    /// Per layer: parameters on one GPU, and what one micro-batch keeps for the backward, bytes.
    let layerParameters: [RankParameters]
    let layerActivationBytes: [Double]
    /// What one micro-batch keeps, item by item, for each distinct kind of layer, with the
    /// layers it applies to (`llmsim memory --items`).
    public let layerInventories: [LayerInventory]
    /// Cached K/V one in-flight chunk of a split sequence keeps per layer for the later chunks,
    /// bytes (0 unless sequences are split).
    let prefixKeyBytesPerLayer: Double
    /// What the head, the loss and the MTP modules keep per micro-batch in flight on the last
    /// stage, and the loss's transient peak above it (`HeadActivations`).
    public let head: HeadActivations
    let firstExtra: RankParameters, lastExtra: RankParameters
    /// The embedding table's dense BF16 gradient (the GPU's vocabulary shard × hidden × 2 B),
    /// which each embedding backward allocates whole (`EmbeddingGradient.dense`), bytes; 0 for
    /// `sparse`.
    let tableGradientBytes: Double
    /// Under FSDP, the whole-layer buffers beside the shards: the gathered BF16 weights of the
    /// layer being computed and of the one prefetched, and one layer's gradients before their
    /// reduce-scatter — of the largest layer (or embedding, or head), bytes; with
    /// `reshard_after_forward` the two weight buffers only (the gradients are whole); 0 otherwise.
    let gatheredBytes: (weights: Double, gradients: Double)
    /// For the optimizer states and their shard (ZeRO-1 over DP or DP/EP replicas, or none),
    /// the dispatcher's buffers (MoE only) and the device's usable HBM.
    let config: StepConfiguration

    var optimizer: OptimizerStates { config.optimizer }
    /// The MoE dispatcher's buffers (`ExpertParallelBuffers`), bytes: only an MoE model has them.
    var communicationBytes: Double { communicationBuffers?.totalBytes ?? 0 }
    public var capacityBytes: Double { config.topology.node.device.hbmUsableBytes }

    /// The buffers the experiment's dispatcher keeps on every GPU, sized from its EP group, the
    /// hidden size and the tokens a GPU routes (nil for a dense model).
    public var communicationBuffers: ExpertParallelBuffers? {
        guard let moe = config.layerModel.moe else { return nil }
        return .of(config.moeDispatcher, ep: config.ep, nvlinkPeers: config.allToAllNodeGPUs, hidden: config.model.hiddenSize,
                   tokensPerGPU: config.moeTokens, localExperts: max(moe.routedExperts / config.ep, 1),
                   format: config.precision.dispatchFormat, sms: config.effectiveAllToAllSMs)
    }
    /// CUDA context, allocator fragmentation and GEMM workspaces (assumption; hardware.md plans
    /// with ~76 of 80 GB usable).
    public static let workspace = 4e9

    /// `deepSeekSavings`: V3's recomputation and FP8 activation caches (`ActivationInventory`).
    public init(config c: StepConfiguration, deepSeekSavings: Bool, schedule kind: ScheduleKind) throws {
        let arch = c.layerModel
        schedule = try c.generateSchedule(kind)
        profile = InflightProfile(schedule)
        let layerItems = Self.layerItems(c, deepSeekSavings: deepSeekSavings)
        let split = Self.sequenceSplit(c)
        layerInventories = LayerInventory.grouping(layerItems)
        layerActivationBytes = layerItems.map(\.totalBytes)
        // The MTP block has the last layer's shape (`StagePass`).
        head = HeadActivations(arch, tokens: c.gpuTokens, sequenceSplit: split, recomputedNorms: deepSeekSavings,
                               crossEntropy: c.crossEntropyKernels, mtpBlockBytes: arch.mtpDepth > 0 ? layerActivationBytes[arch.layers - 1] : 0,
                               eagerHeadBackward: c.sequenceChunks > 1)
        // A split sequence's later chunks attend to the keys and values of its earlier chunks,
        // which are all still in flight (they are backpropagated last), so each in-flight
        // chunk keeps its own tokens' cached K/V for the others.
        prefixKeyBytesPerLayer = c.sequenceChunks > 1 ? Double(c.microbatchTokens) * Double(arch.kvCacheBytesPerTokenPerLayer) : 0
        layerParameters = RankParameters.perLayer(c)
        firstExtra = RankParameters.firstStageExtra(c)
        // The memory's own schedule (`--plain` runs a DualPipe plan as 1F1B) decides what
        // depends on it: the stage copies the optimizer states are sharded over, and whether
        // the last stage keeps a copy of the embedding table.
        var scheduled = c
        scheduled.schedule = kind
        lastExtra = RankParameters.lastStageExtra(scheduled)
        tableGradientBytes = c.optimizer.embeddingGradient == .dense ? Double(arch.vocabularySize * arch.hiddenSize * Precision.bf16.wholeBytes) : 0
        let gathersWeights = c.optimizer.fullySharded || c.optimizer.reshardsAfterForward
        let largest = gathersWeights ? (layerParameters + [firstExtra, lastExtra]).map(\.total).max() ?? 0 : 0
        gatheredBytes = (2 * largest * Double(OptimizerStates.weights.wholeBytes), c.optimizer.fullySharded ? largest * Double(c.optimizer.gradients.wholeBytes) : 0)
        config = scheduled
    }

    /// GPUs a layer's activations outside the TP region are split over along the sequence:
    /// TP under sequence parallelism, else 1.
    static func sequenceSplit(_ c: StepConfiguration) -> Int { c.tp > 1 && c.sequenceParallel ? c.tp : 1 }

    /// What one micro-batch keeps for the backward in each layer of `c`'s model, item by item
    /// (`ActivationInventory`): the memory's activations, and the bytes an offloaded layer copies
    /// to the host and back (`ActivationOffload`). `deepSeekSavings`: V3's recomputation and FP8
    /// activation caches.
    static func layerItems(_ c: StepConfiguration, deepSeekSavings: Bool) -> [[ActivationInventory.Item]] {
        let arch = c.layerModel
        let rows = c.balancedRoutedRows
        let split = Self.sequenceSplit(c)
        // Materialized attention scores are kept for the backward unless the core is recomputed.
        let scores = c.attentionKernel == .unfused && c.effectiveRecompute != .selective && !c.recomputeModules.contains(.coreAttn)
            ? (keys: c.attentionKeys ?? c.sequenceTokens, dropout: c.model.attentionDropout > 0) : nil
        return (0..<arch.layers).map { l -> [ActivationInventory.Item] in
            let caching = ActivationCaching.of(c.precision.layer(l, of: arch.layers), deepSeekSavings: deepSeekSavings)
            // Full recomputation keeps only each layer's input (the layer is re-run in backward).
            if c.effectiveRecompute == .full {
                return [ActivationInventory.Item(name: "layer input (BF16; the layer is recomputed)", bytes: Double(c.gpuTokens * arch.hiddenSize * 2 / split))]
            }
            return ActivationInventory.layer(arch, index: l, tokens: c.gpuTokens, routedRowsOnGPU: rows,
                                             recompute: deepSeekSavings, caching: caching,
                                             sequenceSplit: split, materializedScores: scores, modules: c.recomputeModules)
        }
    }

    /// One rank's bytes under a partition, by term; `inFlight` is the peak count of micro-batches
    /// held, in units of one PP stage.
    struct Parts {
        var weights = 0.0, gradients = 0.0, optimizer = 0.0, activations = 0.0, headAndLoss = 0.0, tableGradient = 0.0, prefixKeys = 0.0
        var updateTemporary = 0.0, communication = 0.0, workspace = 0.0
        var inFlight = 0
        /// In the order `TrainingMemory` lists them (so that both sum alike).
        var inOrder: [Double] { [weights, gradients, optimizer, activations, headAndLoss, tableGradient, prefixKeys, updateTemporary, communication, workspace] }
        var total: Double { inOrder.reduce(0, +) }
    }

    /// One rank's parts under a partition (`stageLayers[s]` layers per stage).
    func parts(rank r: Int, stageLayers: [Int]) -> Parts {
        var starts: [Int] = [], next = 0
        for n in stageLayers { starts.append(next); next += n }
        /// The stage of the partition a generated stage maps to (the same unless the memory's
        /// schedule has other stages than the plan's).
        func layers(_ s: Int) -> Range<Int> { let k = s % stageLayers.count; return starts[k]..<(starts[k] + stageLayers[k]) }
        func activation(_ s: Int) -> Double {
            // Offloading runs on one stage, the whole model: its first layers wait in host memory.
            if let offload = config.activationOffload { return offload.residentBytes(perLayer: layers(s).map { layerActivationBytes[$0] }) }
            return layers(s).reduce(0) { $0 + layerActivationBytes[$1] }
        }
        func prefixKeys(_ s: Int) -> Double { prefixKeyBytesPerLayer * Double(layers(s).count) }
        let last = stageLayers.count - 1
        func headKept(_ s: Int) -> Double { s % stageLayers.count == last ? head.keptBytes : 0 }
        let params = profile.rankStages[r].map { s -> RankParameters in
            let k = s % stageLayers.count
            var stage = layerParameters[layers(s)].reduce(.zero, +)
            if k == 0 { stage = stage + firstExtra }
            if k == stageLayers.count - 1 { stage = stage + lastExtra }
            return stage
        }.reduce(.zero, +)
        // The peak of everything in-flight micro-batches keep, then its two parts at that peak.
        let held = profile.peak(rank: r) { activation($0) + prefixKeys($0) + headKept($0) }.counts
        let stages = profile.rankStages[r]
        let runsLoss = stages.contains { $0 % stageLayers.count == last }
        let weighted = { (w: (Int) -> Double) in zip(stages, held).reduce(0.0) { $0 + w($1.0) * Double($1.1) } }
        let lossPeak = runsLoss ? head.lossTransientBytes : 0
        // The embedding table's dense gradient is made where a micro-batch's backward ends on
        // the first stage, after that stage's activations of the micro-batch are freed, and in
        // each MTP module's backward on the last stage, after the module's own are: what it
        // needs above them, and above the loss's peak (which comes at another moment).
        var tablePeaks = stages.filter { $0 % stageLayers.count == 0 }.map { tableGradientBytes - activation($0) }
        if runsLoss, head.mtpModuleBytes > 0 { tablePeaks.append(tableGradientBytes - head.mtpModuleBytes) }
        let tableGradient = max(0, (tablePeaks.max() ?? 0) - lossPeak)
        var p = Parts(weights: config.weightShard(params) * Double(OptimizerStates.weights.wholeBytes) + gatheredBytes.weights,
                      gradients: config.gradientBytes(params) + gatheredBytes.gradients,
                      optimizer: config.optimizerShard(params) * Double(optimizer.stateBytes),
                      activations: weighted(activation), headAndLoss: weighted(headKept) + lossPeak, tableGradient: tableGradient,
                      prefixKeys: weighted(prefixKeys),
                      communication: communicationBytes, workspace: Self.workspace,
                      inFlight: Int(profile.peak(rank: r) { _ in schedule.stageSize }.value))
        // The update runs after the step's last backward, when every activation, the loss's and
        // the table's transients and the gathered layer buffers are freed: its temporary needs
        // what it takes above them.
        let freed = p.activations + p.headAndLoss + p.tableGradient + p.prefixKeys + gatheredBytes.weights + gatheredBytes.gradients
        p.updateTemporary = max(0, config.optimizerShard(params) * Double(optimizer.updateTemporaryBytesPerParameter) - freed)
        return p
    }

    /// Pinned host memory the offloaded activations of one micro-batch take per GPU
    /// (`ActivationOffload.hostBytes`), bytes; 0 without offloading.
    public var offloadedHostBytes: Double {
        config.activationOffload?.hostBytes(perLayer: layerActivationBytes) ?? 0
    }

    /// One rank's terms under a partition, bytes, labelled, in the order `TrainingMemory` reports them.
    public func terms(rank r: Int, stageLayers: [Int]) -> [TrainingMemory.Term] {
        let p = parts(rank: r, stageLayers: stageLayers)
        // Full sharding by its scheme: FSDP, or HSDP over its group.
        let (scheme, over) = optimizer.shardGroup.map { ("HSDP", " over \($0)") } ?? ("FSDP", "")
        let labels = [
            "weights (\(OptimizerStates.weights.rawValue.uppercased())\(optimizer.fullySharded ? ", \(scheme) shard\(over) + 2 gathered layers" : optimizer.reshardsAfterForward ? ", resharded after forward: shard + 2 gathered layers" : ""))",
            "gradients (\(optimizer.gradients.rawValue.uppercased())\(optimizer.expertGradients.map { "; routed experts \($0.rawValue.uppercased())" } ?? "")\(optimizer.fullySharded ? ", \(scheme) shard\(over) + 1 layer to reduce-scatter" : ""))",
            "optimizer: \(optimizer.stateDescription), \(optimizer.fullySharded ? "\(scheme) sharded\(over)" : optimizer.distributed ? "ZeRO-1 sharded" : "not sharded")",
            "activations (up to \(p.inFlight) micro-batches in flight\(config.activationOffload.flatMap { $0.layers > 0 ? "; the first \($0.layers) of \(layerActivationBytes.count) layers offloaded to host memory" : nil } ?? ""))",
            "\(head.title) (logits: \(config.crossEntropyKernels.rawValue) loss)",
            "embedding table's dense gradient (BF16), above what its backward has freed",
            "cached prefix keys of chunked sequences (BF16 KV cache)",
            "update's temporary (foreach kernels' √v), above what the step's end has freed",
            "communication buffers (\(communicationBuffers?.label ?? "none"))",
            "workspace and fragmentation (assumed)",
        ]
        return zip(labels, p.inOrder).map { TrainingMemory.Term(kind: $0, bytes: $1) }
    }

    /// Every rank's total under a partition, bytes (equal to the sum of its `terms`).
    public func rankBytes(stageLayers: [Int]) -> [Double] {
        (0..<schedule.ranks).map { parts(rank: $0, stageLayers: stageLayers).total }
    }

    /// Bytes above the capacity, summed over ranks (0 when the partition fits).
    public func overflow(stageLayers: [Int]) -> Double {
        rankBytes(stageLayers: stageLayers).reduce(0) { $0 + max(0, $1 - capacityBytes) }
    }

    /// For ranks that run a single stage: the rank's bytes as a sum over its stage's layers,
    /// `perLayer[l]`, plus `first` (embedding) or `last` (head, MTP) when its stage is an end, plus
    /// `fixed`. nil when the rank runs several stages (the sum then is not separable). The
    /// embedding table's transient gradient is left out (it depends on the first stage's
    /// layers), and so is the update's temporary (it depends on the activations it follows);
    /// `StagePartition.fitting` checks what it finds on the exact sum.
    public func separableBytes(rank r: Int) -> (perLayer: [Double], first: Double, last: Double, fixed: Double)? {
        // Offloaded layers keep their bytes off the GPU (and need one stage: nothing to partition).
        guard config.activationOffload == nil, profile.rankStages[r].count == 1, let held = profile.peakCounts[r].first?.first else { return nil }
        let bytes = { (p: RankParameters) in
            config.weightShard(p) * Double(OptimizerStates.weights.wholeBytes) + config.gradientBytes(p)
                + config.optimizerShard(p) * Double(optimizer.stateBytes)
        }
        let perLayer = layerParameters.indices.map {
            bytes(layerParameters[$0]) + Double(held) * (layerActivationBytes[$0] + prefixKeyBytesPerLayer)
        }
        let headAndLoss = Double(held) * head.keptBytes + head.lossTransientBytes
        return (perLayer, bytes(firstExtra), bytes(lastExtra) + headAndLoss, communicationBytes + Self.workspace + gatheredBytes.weights + gatheredBytes.gradients)
    }
}

/// What one micro-batch keeps for the backward in each of `layers` (identical layers share one).
public struct LayerInventory: Sendable, Codable, Equatable {
    public var layers: [Int]
    public var items: [ActivationInventory.Item]
    public var bytes: Double { items.totalBytes }

    /// Layer `l`'s items at `perLayer[l]`, identical lists grouped, in order of first layer.
    static func grouping(_ perLayer: [[ActivationInventory.Item]]) -> [LayerInventory] {
        var groups: [LayerInventory] = []
        for (l, items) in perLayer.enumerated() {
            if let k = groups.firstIndex(where: { $0.items == items }) { groups[k].layers.append(l) } else { groups.append(LayerInventory(layers: [l], items: items)) }
        }
        return groups
    }
}
