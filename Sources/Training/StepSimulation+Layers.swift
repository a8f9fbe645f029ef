import CostModel
import Fabric
import Hardware
import Kernels
import Model
import Schedules

/// One layer of the step on the cost executor: the records a layer issues, the routing of one
/// EP group and its all-to-alls, and the balanced MoE layer of DeepSeek's trace.
extension StepSimulation {
    /// The records `body` issues on a cost executor set up for this step.
    func records(traffic: MoETraffic, _ body: (inout CostExecutor) throws -> Void) rethrows -> [OperationRecord] {
        var e = CostExecutor(traffic: traffic)
        e.contextParallel = config.cp
        e.attentionKeys = config.attentionKeys
        e.attentionSequences = config.microbatchSequences
        if config.tp > 1, config.sequenceParallel { e.sequenceParallel = (config.tp, config.model.hiddenSize) }
        e.attentionKernel = config.attentionKernel
        e.expertBiasKernels = config.expertBiasKernels
        e.crossEntropyKernels = config.crossEntropyKernels
        e.attentionDropout = config.model.attentionDropout > 0
        e.quantization = config.precision.quantization
        // Every micro-batch of every pass adds into the same step's gradients.
        let microbatches = config.microbatches * config.pipelinePasses
        e.embeddingGradient = config.optimizer.embeddingGradientCost(microbatches: microbatches)
        if config.optimizer.gradientAccumulation == .unfused {
            let o = config.optimizer
            let bytes = { (expert: Bool) in
                GradientAccumulation.unfusedBytesPerParameter(fresh: OptimizerStates.weights.wholeBytes, accumulated: o.gradientFormat(expert: expert).wholeBytes,
                                                              microbatches: microbatches)
            }
            e.gradientAccumulationBytes = (bytes(false), bytes(true))
        }
        try body(&e)
        return e.records
    }

    /// Layer `index`'s forward and full backward on one micro-batch.
    func layerForwardBackward(_ index: Int, traffic: MoETraffic, dispatch: Double, combine: Double) throws -> LayerTimes {
        LayerTimes.price(try layerRecords(index, traffic: traffic), kernels: kernels, dispatchTime: dispatch, combineTime: combine)
    }

    /// The records of layer `index`'s forward and full backward on one micro-batch.
    func layerRecords(_ index: Int, traffic: MoETraffic) throws -> [OperationRecord] {
        let c = config, arch = c.layerModel
        let layer = try TransformerLayer(arch: arch, index: index, policy: c.precision.layer(index, of: arch.layers), recompute: c.recompute,
                                             recomputeModules: c.recomputeModules)
        let x = ShapeTensor(rows: c.gpuTokens, cols: arch.hiddenSize)
        return records(traffic: traffic) { e in let f = layer.forward(&e, x); _ = layer.backward(&e, x, tape: f.tape) }
    }

    /// One MoE layer under perfectly balanced routing, as DeepSeek's profile trace was taken
    /// (reference §3.2; validation case 11): every local expert of the GPU holds the mean
    /// tokens × K / experts-per-GPU rows; the all-to-alls are the routed group's. The layer is
    /// the model's representative MoE layer (`ModelArchitecture.representativeLayer`). nil for
    /// a dense model.
    public func balancedMoELayer() throws -> LayerTimes? {
        let arch = config.layerModel
        guard arch.moeLayerCount > 0 else { return nil }
        let index = arch.representativeLayer
        let (routed, dispatch, combine) = try allToAll()
        let perGPU = routed.localExpertRows.count
        let rows = config.balancedRoutedRows / max(perGPU, 1)
        let balanced = MoETraffic(localExpertRows: Array(repeating: rows, count: perGPU), dispatch: routed.dispatch, combine: routed.combine,
                                  dispatchFormat: routed.dispatchFormat)
        return try layerForwardBackward(index, traffic: balanced, dispatch: dispatch, combine: combine)
    }

    /// One tensor-parallel reduce-scatter (or all-gather) of a micro-batch's BF16 activations
    /// over the TP group on NVLink, seconds (ring: (p−1)/p of the bytes per GPU, p−1 hop
    /// latencies; an all-reduce is two). 0 at TP 1.
    var tensorParallelHalfCollective: Double { tensorParallelHalfCollective(bytesPerValue: Precision.bf16.bytes) }

    /// One tensor-parallel all-gather of a micro-batch's activations into a quantized Linear,
    /// in the copy the recipe gathers (`PrecisionPolicy.gatheredActivationBytes`), seconds.
    var tensorParallelGather: Double { tensorParallelGather(config.precision) }

    /// One all-gather into the Linears of a layer trained in `policy`, seconds.
    func tensorParallelGather(_ policy: PrecisionPolicy) -> Double { tensorParallelHalfCollective(bytesPerValue: policy.gatheredActivationBytes) }

    /// One ring reduce-scatter or all-gather of a micro-batch's activations of `bytesPerValue`
    /// bytes each over the TP group on NVLink, seconds.
    func tensorParallelHalfCollective(bytesPerValue: Double) -> Double {
        let c = config
        return Collective.reduceScatter(bytes: Double(c.gpuTokens * c.model.hiddenSize) * bytesPerValue, participants: c.tp,
                                        bandwidth: c.topology.node.ringScaleUpBandwidth(members: c.tp), latency: c.topology.latency.scaleUp)
    }

    /// The SMs each TP collective's kernels hold beside the GEMM it hides under
    /// (`TensorParallelOverlapSMs`): Transformer Engine's userbuffers under `pipelined`; under
    /// `backward`, NCCL's channels on the TP group (`tensorParallelNCCLSMs`); the head's
    /// collective NCCL's under either. `.none` at TP 1 or when every collective runs alone.
    var tensorParallelOverlapSMs: TensorParallelOverlapSMs {
        let c = config
        guard c.tp > 1 else { return .none }
        switch c.tensorParallelOverlap {
        case .none: return .none
        case .pipelined: return c.sequenceParallel ? c.userbufferSMs.withHead(tensorParallelNCCLSMs) : .none
        case .backward: return .ncclBackward(sms: tensorParallelNCCLSMs)
        }
    }

    /// SMs an NCCL collective on the TP group, inside the NVLink domain, takes from the compute
    /// beside it (`StepConfiguration.collectiveSMsTaken`; 0 at TP 1).
    var tensorParallelNCCLSMs: Int { config.tp > 1 ? config.collectiveSMsTaken(crossesNodes: false) : 0 }

    /// The TP collectives' placement for this step.
    var tensorParallelCollectives: TensorParallelCollectives { tensorParallelCollectives(config.precision) }

    /// The TP collectives' placement for a layer trained in `policy` (its all-gathers move its
    /// Linears' format).
    func tensorParallelCollectives(_ policy: PrecisionPolicy) -> TensorParallelCollectives {
        TensorParallelCollectives(half: tensorParallelHalfCollective, gather: tensorParallelGather(policy), sequenceParallel: config.tp > 1 && config.sequenceParallel,
                                  overlap: config.tensorParallelOverlap, group: config.tp)
    }

    /// The routing experiment of one EP group (nil for a dense model). Long sequences route a
    /// sample of at most 4,096 tokens per GPU (a divisor of the tokens each GPU routes of a
    /// micro-batch, `moeTokens`); `factor` scales rows, bytes and all-to-all time linearly back
    /// to them.
    public func routingExperiment() -> (experiment: RoutingExperiment, factor: Int)? {
        guard let router = config.model.routerConfig else { return nil }
        var sample = config.moeTokens
        while sample > 4096, sample % 2 == 0 { sample /= 2 }
        var experiment = RoutingExperiment(router: router, hidden: config.model.hiddenSize, tokensPerGPU: sample, ep: config.ep,
                                           gpusPerNode: config.allToAllNodeGPUs, skew: config.routingSkew, seed: config.seed)
        experiment.expertTensorParallel = config.etp
        experiment.gate = config.routingGate
        experiment.sequenceConcentration = config.sequenceConcentration
        experiment.sequencesPerGPU = Self.sequencesRouted(moeTokens: config.moeTokens, sequenceTokens: config.sequenceTokens, sample: sample)
        return (experiment, config.moeTokens / sample)
    }

    /// Whole sequences among the `sample` tokens a GPU routes of its `moeTokens`: the GPU's
    /// sequences (at least one; a sequence longer than the GPU's tokens, split by CP or TP,
    /// counts as one) shrunk with the sample, and a divisor of the sample.
    static func sequencesRouted(moeTokens: Int, sequenceTokens: Int, sample: Int) -> Int {
        let perGPU = max(1, moeTokens / max(sequenceTokens, 1))
        var n = max(1, perGPU / max(moeTokens / sample, 1))
        while sample % n != 0 { n -= 1 }
        return n
    }

    /// Hop latencies the all-to-all pays: inter-node hops at the topology's inter-node latency.
    var allToAllHops: HopLatency {
        var hops = config.topology.latency
        hops.crossLeaf = config.topology.interNodeLatency
        return hops
    }

    /// The MoE all-to-all of this step's node, all-to-all SMs, hops, dispatch format,
    /// dispatcher and DeepEP release.
    public var moeAllToAll: MoEAllToAll {
        MoEAllToAll(node: config.topology.node, communicationSMs: config.effectiveAllToAllSMs, hopLatency: allToAllHops,
                    dispatchFormat: config.precision.dispatchFormat, dispatcher: config.moeDispatcher, deepepKernels: config.deepepKernels)
    }

    /// What times an all-to-all besides its routing: the node, the all-to-all SMs, the hops,
    /// the dispatch format, the dispatcher, DeepEP's release.
    var fabricKey: String {
        "\(config.topology.node)|\(config.effectiveAllToAllSMs)|\(allToAllHops)|\(config.precision.dispatchFormat)|\(config.moeDispatcher)|\(config.deepepKernels)"
    }

    /// The identity of this step's all-to-all in the routing cache (nil for a dense model).
    public var allToAllKey: String? { routingExperiment().map { RoutingCache.key($0.experiment) + "|" + fabricKey } }

    /// The MoE traffic of one micro-batch and its dispatch and combine times, seconds (routed
    /// and timed once per distinct input, through the shared cache).
    public func allToAll() throws -> (traffic: MoETraffic, dispatch: Double, combine: Double) {
        guard let (routing, factor) = routingExperiment() else { return (MoETraffic.local(expertRows: []), 0, 0) }
        let c = config, hidden = c.model.hiddenSize
        let traffic = MoETraffic(plan: try routingCache.plan(for: routing), hidden: hidden, format: c.precision.dispatchFormat, dispatcher: c.moeDispatcher).scaled(by: factor)
        let a2a = moeAllToAll
        let times = try routingCache.allToAllTimes(for: routing, fabric: fabricKey) { plan in
            try a2a.times(plan, hidden: hidden)
        }
        return (traffic, times.dispatch * Double(factor), times.combine * Double(factor))
    }
}
