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
///
/// A collective's kernel holds some SMs while it runs (`CollectiveSMs`), so the compute beside
/// it is slower: a step's compute progresses at `compute / contended` of its pace while the
/// stream is busy (`contended`: its seconds with the collective's SMs taken all along), at full
/// pace while the stream is idle. Nothing is issued while a step computes (gathers are issued
/// at a step's start, reduce-scatters at its end), so the stream's busy intervals during a step
/// are known when it starts.
public enum FullyShardedLayers {
    /// One step of a chunk, seconds.
    public struct Step: Sendable, Equatable {
        public var compute: Double, gather: Double, reduceScatter: Double
        /// The compute's seconds with a collective beside it all along (≥ `compute`).
        public var contended: Double
        public init(compute: Double, gather: Double, reduceScatter: Double = 0, contended: Double? = nil) {
            self.compute = compute; self.gather = gather; self.reduceScatter = reduceScatter
            self.contended = max(compute, contended ?? compute)
        }
    }

    /// Seconds the chunk takes beyond the sum of its compute (≥ 0): the collectives the
    /// compute cannot hide, and the compute's slowdown beside the ones it hides.
    public static func exposed(_ steps: [Step]) -> Double {
        guard let firstGather = steps.first?.gather else { return 0 }
        // The stream's busy intervals, in order (one FIFO stream: they do not overlap).
        var busy: [(start: Double, end: Double)] = []
        var streamFree = 0.0
        func issue(_ seconds: Double, at t: Double) -> Double {
            let start = max(streamFree, t)
            streamFree = start + seconds
            if seconds > 0 { busy.append((start, streamFree)) }
            return streamFree
        }
        // The gather of step 0 is issued at once.
        var gatherEnd = issue(firstGather, at: 0), computeEnd = 0.0
        for (i, step) in steps.enumerated() {
            let start = max(computeEnd, gatherEnd)
            // The next step's gather is issued as this one starts.
            if i + 1 < steps.count { gatherEnd = issue(steps[i + 1].gather, at: start) }
            computeEnd = finish(step, from: start, busy: &busy)
            if step.reduceScatter > 0 { _ = issue(step.reduceScatter, at: computeEnd) }
        }
        return max(computeEnd, streamFree) - steps.reduce(0) { $0 + $1.compute }
    }

    /// When a step's compute started at `start` ends: full pace outside the busy intervals,
    /// `compute / contended` of it inside. Drops the intervals that end before `start`.
    static func finish(_ step: Step, from start: Double, busy: inout [(start: Double, end: Double)]) -> Double {
        busy.removeAll { $0.end <= start }
        guard step.contended > step.compute, step.compute > 0 else { return start + step.compute }
        let slowPace = step.compute / step.contended
        var t = start, left = step.compute
        for b in busy {
            if b.start > t {
                // Idle stretch before this interval, at full pace.
                let idle = b.start - t
                if left <= idle { return t + left }
                left -= idle
                t = b.start
            }
            let span = b.end - t
            if left <= span * slowPace { return t + left / slowPace }
            left -= span * slowPace
            t = b.end
        }
        return t + left
    }
}

/// One layer's FSDP work per micro-batch, seconds: its collectives on the communication stream,
/// and the copies the implementation runs on the compute stream around them
/// (`FullyShardedImplementation`): `copyOut` after each gather, before the compute that uses the
/// weights; `copyIn` after the backward, before the reduce-scatter is issued.
struct FullyShardedLayerWork: Equatable {
    var gather: Double, reduceScatter: Double
    var copyOut = 0.0, copyIn = 0.0
    /// The copies on the compute stream of a forward (after its gather) and of a backward
    /// (after its gather, and before its reduce-scatter).
    var forwardCopies: Double { copyOut }
    var backwardCopies: Double { copyOut + copyIn }
}

/// FSDP's exposed collectives of each stage chunk of a step: the per-layer gathers and
/// reduce-scatters priced once on the data-parallel rings (`DataParallelOptimizer`), run
/// against the chunk's compute in forward order (embedding, layers, head) and in backward order,
/// the compute slowed beside them by the SMs their kernels hold (`collectiveSMs`) and lengthened
/// by the implementation's copies.
struct FullyShardedStages {
    /// Per layer, and for the first stage's embedding and the last stage's head and MTP.
    let layers: [FullyShardedLayerWork]
    let first: FullyShardedLayerWork, last: FullyShardedLayerWork
    /// Whether the dense ring, or an MoE model's expert ring, leaves the NVLink domain (which
    /// of the node's `CollectiveSMs` figures its kernels hold).
    let crossesNodes: Bool
    /// SMs each collective's kernel holds while it runs (`StepConfiguration.collectiveSMs(crossesNodes:)`).
    let collectiveSMs: Int

    /// Seconds a block's compute gains when a collective runs beside it all along, forward and
    /// backward.
    struct Slowdown: Equatable {
        var forward = 0.0, backward = 0.0
        static let none = Slowdown()
    }

    init(config c: StepConfiguration, optimizer: DataParallelOptimizer) {
        layers = RankParameters.perLayer(c).map(optimizer.fullyShardedWork)
        first = optimizer.fullyShardedWork(RankParameters.firstStageExtra(c))
        last = optimizer.fullyShardedWork(RankParameters.lastStageExtra(c))
        let dense = optimizer.ring(replicas: c.denseShards, apart: c.tp)
        let expert = optimizer.ring(replicas: c.expertStateReplicas, apart: c.expertGroupSize)
        crossesNodes = dense.domains > 1 || (c.model.moe != nil && expert.domains > 1)
        collectiveSMs = c.collectiveSMs(crossesNodes: crossesNodes)
    }

    /// Sets `stage`'s FSDP fields for the chunk of `range` (times `layerTimes`, slowdowns
    /// `slowdowns`), with the embedding's `first` on the first stage and the head's `last` on
    /// the last.
    func expose(_ stage: inout LayerTimes, range: Range<Int>, layerTimes: [LayerTimes], slowdowns: [Slowdown],
                first firstTimes: (LayerTimes, Slowdown)?, last lastTimes: (LayerTimes, Slowdown)?) {
        typealias Entry = (times: LayerTimes, slowdown: Slowdown, work: FullyShardedLayerWork)
        var order: [Entry] = []
        if let (t, s) = firstTimes { order.append((t, s, first)) }
        for l in range { order.append((layerTimes[l], slowdowns[l], layers[l])) }
        if let (t, s) = lastTimes { order.append((t, s, last)) }
        // A step's compute includes the copies on the compute stream (not slowed by the SMs a
        // collective holds: they are memory-bound).
        let forward = order.map {
            FullyShardedLayers.Step(compute: $0.times.forward + $0.work.forwardCopies, gather: $0.work.gather,
                                    contended: $0.times.forward + $0.slowdown.forward + $0.work.forwardCopies)
        }
        let backward = order.reversed().map {
            FullyShardedLayers.Step(compute: $0.times.backward + $0.work.backwardCopies, gather: $0.work.gather, reduceScatter: $0.work.reduceScatter,
                                    contended: $0.times.backward + $0.slowdown.backward + $0.work.backwardCopies)
        }
        stage.fullyShardedCopiesForward = order.reduce(0) { $0 + $1.work.forwardCopies }
        stage.fullyShardedCopiesBackward = order.reduce(0) { $0 + $1.work.backwardCopies }
        /// The time beyond the blocks' compute (the copies, always on the compute stream's path,
        /// and what of the collectives shows), and of it what the slower compute adds (against
        /// every SM kept).
        func exposure(_ steps: [FullyShardedLayers.Step], copies: Double) -> (total: Double, contention: Double) {
            let total = FullyShardedLayers.exposed(steps) + copies
            let uncontended = FullyShardedLayers.exposed(steps.map { var s = $0; s.contended = s.compute; return s }) + copies
            return (total, total - uncontended)
        }
        (stage.fullyShardedForward, stage.fullyShardedContentionForward) = exposure(forward, copies: stage.fullyShardedCopiesForward)
        (stage.fullyShardedBackward, stage.fullyShardedContentionBackward) = exposure(backward, copies: stage.fullyShardedCopiesBackward)
    }
}
