/// Fully sharded data parallelism (ZeRO-3; PyTorch FSDP, Megatron-FSDP's `optim_grads_params`):
/// every GPU keeps 1/replicas of each parameter, so each layer's parameters are all-gathered
/// before its forward and again before its backward, and its gradients are reduce-scattered
/// after its backward, every micro-batch. The collectives run on a communication stream beside
/// the compute: the gather of the next layer is issued when a layer starts (one layer of
/// prefetch, FSDP's default), the reduce-scatter when its backward ends, in issue order on one
/// stream. What the compute cannot hide lengthens the stage chunk; this type computes it.
///
/// Per step of a chunk (a layer, or the embedding or head) in execution order: its compute,
/// the gather it waits for, the reduce-scatter it issues when done (0 in the forward). With
/// the stream free at F and step i issued at I_i: a collective starts at max(F, I_i); step i
/// computes from max(end of step i − 1, its gather's end). The gather of step 0 is issued at
/// the chunk's start, that of step i + 1 at step i's start. The chunk ends when its last
/// compute and every reduce-scatter are done.
public enum FullyShardedLayers {
    /// One step of a chunk, seconds.
    public struct Step: Sendable, Equatable {
        public var compute: Double, gather: Double, reduceScatter: Double
        public init(compute: Double, gather: Double, reduceScatter: Double = 0) {
            self.compute = compute; self.gather = gather; self.reduceScatter = reduceScatter
        }
    }

    /// Seconds the chunk takes beyond the sum of its compute (≥ 0).
    public static func exposed(_ steps: [Step]) -> Double {
        guard let firstGather = steps.first?.gather else { return 0 }
        // The gather of step 0 is issued at once.
        var gatherEnd = firstGather, streamFree = firstGather, computeEnd = 0.0
        for (i, step) in steps.enumerated() {
            let start = max(computeEnd, gatherEnd)
            // The next step's gather is issued as this one starts.
            if i + 1 < steps.count {
                gatherEnd = max(streamFree, start) + steps[i + 1].gather
                streamFree = gatherEnd
            }
            computeEnd = start + step.compute
            if step.reduceScatter > 0 { streamFree = max(streamFree, computeEnd) + step.reduceScatter }
        }
        return max(computeEnd, streamFree) - steps.reduce(0) { $0 + $1.compute }
    }
}

/// FSDP's exposed collectives of each stage chunk of a step: the per-layer gathers and
/// reduce-scatters priced once on the data-parallel rings (`DataParallelOptimizer`), run
/// against the chunk's compute in forward order (embedding, layers, head) and in backward order.
struct FullyShardedStages {
    /// Per layer, and for the first stage's embedding and the last stage's head and MTP:
    /// gather and reduce-scatter seconds.
    let layers: [(gather: Double, reduceScatter: Double)]
    let first: (gather: Double, reduceScatter: Double), last: (gather: Double, reduceScatter: Double)

    init(config c: StepConfiguration, optimizer: DataParallelOptimizer) {
        layers = RankParameters.perLayer(c).map(optimizer.fullyShardedCollectives)
        first = optimizer.fullyShardedCollectives(RankParameters.firstStageExtra(c))
        last = optimizer.fullyShardedCollectives(RankParameters.lastStageExtra(c))
    }

    /// Sets `stage`'s FSDP fields for the chunk of `range` (times `layerTimes`), with the
    /// embedding's times `first` on the first stage and the head's `last` on the last.
    func expose(_ stage: inout LayerTimes, range: Range<Int>, layerTimes: [LayerTimes], first firstTimes: LayerTimes?, last lastTimes: LayerTimes?) {
        var order: [(times: LayerTimes, collectives: (gather: Double, reduceScatter: Double))] = []
        if let firstTimes { order.append((firstTimes, first)) }
        for l in range { order.append((layerTimes[l], layers[l])) }
        if let lastTimes { order.append((lastTimes, last)) }
        stage.fullyShardedForward = FullyShardedLayers.exposed(order.map { .init(compute: $0.times.forward, gather: $0.collectives.gather) })
        stage.fullyShardedBackward = FullyShardedLayers.exposed(order.reversed().map {
            .init(compute: $0.times.backward, gather: $0.collectives.gather, reduceScatter: $0.collectives.reduceScatter)
        })
    }
}
