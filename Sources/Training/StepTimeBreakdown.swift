import Schedules

/// Where one rank's step time goes, seconds: its compute by block, the communication and host
/// waits its instructions expose, its idle time in the pipeline, the exposed parts of its
/// optimizer step, and its wait for the step's last rank. The parts sum to the step time.
///
/// How time is assigned (one rank's timeline, the step's last pipeline pass with its optimizer
/// step; earlier passes, when the step runs several, without it):
/// - a pipeline instruction's time splits as its stages' `LayerTimes` compose its duration
///   (`instruction(_:stages:)`), scaled to the duration it ran (jitter, routing draws);
/// - an optimizer part counts where no instruction runs; the clipping barrier's wait inside the
///   gradient norm counts as waiting;
/// - time covered by nothing is bubble up to the pipeline's makespan, waiting after it.
///
/// The compute parts are priced per block as the cost executor issues them; in an overlapped
/// forward-and-backward pair an all-to-all counts only where it outlasts the compute beside it.
public struct StepTimeBreakdown: Sendable, Codable, Equatable {
    /// Attention blocks' compute (projections, core attention, norms), forward and backward.
    public var attentionS = 0.0
    /// MLP blocks' compute: dense FFNs, routers, routed and shared experts, permutes.
    public var mlpS = 0.0
    /// Compute outside the layers: embedding, head, loss, MTP glue.
    public var otherComputeS = 0.0
    /// MoE dispatch and combine not hidden under compute.
    public var allToAllS = 0.0
    /// Tensor-parallel collectives on the critical path, and the GEMMs' slowdown beside the
    /// userbuffers kernels of those they hide (`tensorParallelContentionS`).
    public var tensorParallelS = 0.0
    /// Context-parallel ring exchange not hidden under the attention core.
    public var contextParallelS = 0.0
    /// FSDP's per-layer gathers and reduce-scatters not hidden under the compute, the compute's
    /// slowdown beside those it hides (`collectiveContentionS`), and the implementation's
    /// copies around them (`fullyShardedCopiesS`).
    public var fullyShardedS = 0.0
    /// The compute waiting for CPU activation offloading's copies to host memory and back.
    public var activationOffloadS = 0.0
    /// The GPU idle inside instructions, waiting for the host to launch operations.
    public var hostS = 0.0
    /// Idle during the pipeline: fill, drain, and waits for pipeline sends.
    public var bubbleS = 0.0
    /// The gradient reduce-scatter (or all-reduce) where no instruction hides it.
    public var gradientReductionS = 0.0
    /// The clipping norm's local read and all-reduce (its barrier wait is in `waitS`).
    public var gradientNormS = 0.0
    /// The AdamW update.
    public var optimizerUpdateS = 0.0
    /// The parameter all-gather the next step cannot hide.
    public var allGatherS = 0.0
    /// Waiting for other ranks after the pipeline: at the clipping barrier, and for the
    /// step's last rank.
    public var waitS = 0.0
    /// Of the compute parts, the seconds that recompute the forward (activation
    /// recomputation); not a part of its own.
    public var recomputationS = 0.0
    /// Of the FSDP part, the seconds the compute loses beside the collectives, whose kernels
    /// hold some SMs (`collective_sms`); not a part of its own.
    public var collectiveContentionS = 0.0
    /// Of the FSDP part, the seconds of the implementation's copies on the compute stream
    /// around its collectives (FSDP2's copy-out after each gather, its copy-in before each
    /// reduce-scatter); not a part of its own.
    public var fullyShardedCopiesS = 0.0
    /// Of the TP part, the seconds the GEMMs lose beside the kernels of the collectives they
    /// hide, which hold some SMs (userbuffers' `tp_overlap_sms`, NCCL's `collective_sms`); not
    /// a part of its own.
    public var tensorParallelContentionS = 0.0

    public init() {}

    /// The parts that sum to the step time, with their names (JSON keys without `_s`) and labels.
    public static var parts: [(key: WritableKeyPath<StepTimeBreakdown, Double>, name: String, label: String)] { [
        (\.attentionS, "attention", "attention compute"),
        (\.mlpS, "mlp", "MLP and expert compute"),
        (\.otherComputeS, "other_compute", "embedding, head, loss, MTP compute"),
        (\.allToAllS, "all_to_all", "exposed MoE all-to-all"),
        (\.tensorParallelS, "tensor_parallel", "exposed tensor-parallel collectives, and their SMs"),
        (\.contextParallelS, "context_parallel", "exposed context-parallel ring"),
        (\.fullyShardedS, "fully_sharded", "exposed FSDP gathers and reduce-scatters, their SMs and copies"),
        (\.activationOffloadS, "activation_offload", "waiting for activation offload copies (host link)"),
        (\.hostS, "host", "waiting for host launches"),
        (\.bubbleS, "bubble", "pipeline bubble and send waits"),
        (\.gradientReductionS, "gradient_reduction", "exposed gradient reduction"),
        (\.gradientNormS, "gradient_norm", "gradient norm (clipping)"),
        (\.optimizerUpdateS, "optimizer_update", "AdamW update"),
        (\.allGatherS, "all_gather", "exposed parameter all-gather"),
        (\.waitS, "wait", "waiting for other ranks"),
    ] }

    /// The sum of the parts: the step time.
    public var total: Double { computeS + exposedCommunicationS + hostS + bubbleS + optimizerS + waitS }
    /// Compute: attention, MLP and the rest.
    public var computeS: Double { attentionS + mlpS + otherComputeS }
    /// Communication the compute does not hide inside the pipeline instructions.
    public var exposedCommunicationS: Double { allToAllS + tensorParallelS + contextParallelS + fullyShardedS + activationOffloadS }
    /// The optimizer step's exposed parts.
    public var optimizerS: Double { gradientReductionS + gradientNormS + optimizerUpdateS + allGatherS }

    /// Field by field, `f` of `a`'s and `b`'s values (written out: a step splits thousands of
    /// instructions, and key-path access made that a third of the step's time).
    static func combine(_ a: Self, _ b: Self, _ f: (Double, Double) -> Double) -> Self {
        var r = Self()
        (r.attentionS, r.mlpS, r.otherComputeS) = (f(a.attentionS, b.attentionS), f(a.mlpS, b.mlpS), f(a.otherComputeS, b.otherComputeS))
        (r.allToAllS, r.tensorParallelS) = (f(a.allToAllS, b.allToAllS), f(a.tensorParallelS, b.tensorParallelS))
        (r.contextParallelS, r.fullyShardedS) = (f(a.contextParallelS, b.contextParallelS), f(a.fullyShardedS, b.fullyShardedS))
        (r.hostS, r.bubbleS) = (f(a.hostS, b.hostS), f(a.bubbleS, b.bubbleS))
        (r.gradientReductionS, r.gradientNormS) = (f(a.gradientReductionS, b.gradientReductionS), f(a.gradientNormS, b.gradientNormS))
        (r.optimizerUpdateS, r.allGatherS) = (f(a.optimizerUpdateS, b.optimizerUpdateS), f(a.allGatherS, b.allGatherS))
        (r.waitS, r.recomputationS) = (f(a.waitS, b.waitS), f(a.recomputationS, b.recomputationS))
        (r.collectiveContentionS, r.tensorParallelContentionS) = (f(a.collectiveContentionS, b.collectiveContentionS),
                                                                  f(a.tensorParallelContentionS, b.tensorParallelContentionS))
        r.fullyShardedCopiesS = f(a.fullyShardedCopiesS, b.fullyShardedCopiesS)
        r.activationOffloadS = f(a.activationOffloadS, b.activationOffloadS)
        return r
    }

    public static func + (a: Self, b: Self) -> Self { combine(a, b, +) }

    public static func * (a: Self, k: Double) -> Self { combine(a, a) { x, _ in x * k } }

    /// How one pipeline instruction (`ScheduleSegment.label`) of stages with times `stages`
    /// spends its nominal duration, as `ScheduleSimulator.duration(of:stageSize:durations:)`
    /// composes it: a forward's blocks with its all-to-alls exposed; a full or input backward's
    /// (the input one without the weight blocks); a weight backward's weight blocks; an
    /// overlapped pair the mean of its two stages' pairs, each slot's communication counting
    /// only where it outlasts the compute beside it.
    public static func instruction(_ label: String, stages: [LayerTimes]) -> Self {
        guard let t = stages.first else { return Self() }
        var b = Self()
        switch label {
        case "F":
            (b.attentionS, b.mlpS, b.otherComputeS) = (t.attentionForward, t.mlpForward, t.otherForward)
            b.allToAllS = t.dispatchForward + t.combineForward
            (b.tensorParallelS, b.contextParallelS, b.fullyShardedS, b.hostS) = (t.tensorParallelForward, t.contextParallelForward, t.fullyShardedForward, t.hostForward)
            (b.collectiveContentionS, b.tensorParallelContentionS) = (t.fullyShardedContentionForward, t.tensorParallelContentionForward)
            b.fullyShardedCopiesS = t.fullyShardedCopiesForward
            b.activationOffloadS = t.offloadForward
        case "B", "Bi":
            let weight = label == "B"
            b.attentionS = t.attentionBackwardInput + (weight ? t.attentionBackwardWeight : 0)
            b.mlpS = t.mlpBackwardInput + (weight ? t.mlpBackwardWeight : 0)
            b.otherComputeS = t.otherBackwardInput + (weight ? t.otherBackwardWeight : 0)
            b.allToAllS = t.combineBackward + t.dispatchBackward
            (b.tensorParallelS, b.contextParallelS, b.fullyShardedS, b.hostS) = (t.tensorParallelBackward, t.contextParallelBackward, t.fullyShardedBackward, t.hostBackward)
            b.recomputationS = t.recomputation
            (b.collectiveContentionS, b.tensorParallelContentionS) = (t.fullyShardedContentionBackward, t.tensorParallelContentionBackward)
            b.fullyShardedCopiesS = t.fullyShardedCopiesBackward
            b.activationOffloadS = t.offloadBackward
        case "W":
            (b.attentionS, b.mlpS, b.otherComputeS) = (t.attentionBackwardWeight, t.mlpBackwardWeight, t.otherBackwardWeight)
        case "F&B":
            return stages.map(pair).reduce(Self(), +) * (1 / Double(stages.count))
        default:
            break
        }
        return b
    }

    /// A stage's forward overlapped with its own backward (`LayerTimes.overlappedForwardBackward`).
    static func pair(_ t: LayerTimes) -> Self {
        var b = Self()
        b.attentionS = t.attentionForward + t.attentionBackwardInput + t.attentionBackwardWeight
        b.mlpS = t.mlpForward + t.mlpBackwardInput + t.mlpBackwardWeight
        b.otherComputeS = t.otherForward + t.otherBackwardInput + t.otherBackwardWeight
        b.allToAllS = t.overlapSlots.reduce(0) { $0 + max(0, $1.communication - $1.compute) }
        b.tensorParallelS = t.tensorParallelForward + t.tensorParallelBackward
        b.contextParallelS = t.contextParallelForward + t.contextParallelBackward
        b.fullyShardedS = t.fullyShardedForward + t.fullyShardedBackward
        b.collectiveContentionS = t.fullyShardedContentionForward + t.fullyShardedContentionBackward
        b.fullyShardedCopiesS = t.fullyShardedCopiesForward + t.fullyShardedCopiesBackward
        b.tensorParallelContentionS = t.tensorParallelContentionForward + t.tensorParallelContentionBackward
        b.activationOffloadS = t.offloadForward + t.offloadBackward
        b.hostS = t.hostForwardBackward
        b.recomputationS = t.recomputation
        return b
    }
}

extension StepTimeBreakdown {
    /// The split of the schedule instruction `s` on its stages' times (`stageTimes`, one per
    /// stage of the pipeline; a stage index beyond them wraps, as the optimizer's and the
    /// trace's lookups do).
    static func instruction(_ s: ScheduleSegment, stageTimes: [LayerTimes]) -> Self {
        instruction(s.label, stages: s.stages.map { stageTimes[$0 % stageTimes.count] })
    }

    /// Each rank's breakdown of a step of `passes` passes of `pipeline` (its instructions timed
    /// on stages of `stageTimes`) whose last pass ends with the optimizer steps `optimizer`
    /// (one per rank) and the step at `end` ≥ the makespan, seconds. An earlier pass is the
    /// same instructions with the rest of the makespan as bubble.
    static func perRank(pipeline: ScheduleResult, stageTimes: [LayerTimes], optimizer: [DataParallelOptimizer.RankFinish], end: Double,
                        passes: Int) -> [Self] {
        var instructions = [[ScheduleSegment]](repeating: [], count: optimizer.count)
        for s in pipeline.segments where s.rank < instructions.count { instructions[s.rank].append(s) }
        return optimizer.enumerated().map { r, finish in
            let own = instructions[r].sorted { $0.start < $1.start }
            let (work, busy) = executed(own, stageTimes: stageTimes)
            let last = work + outside(own, busy: busy, optimizer: finish.segments(rank: r), barrierWait: finish.barrierWait,
                                      makespan: pipeline.makespan, end: end)
            guard passes > 1 else { return last }
            var earlier = work
            earlier.bubbleS = max(0, pipeline.makespan - busy)
            return last + earlier * Double(passes - 1)
        }
    }

    /// One rank's breakdown over [0, `end`]: its `instructions` (in time order, not overlapping)
    /// split by `instruction(_:stages:)` and scaled to the time each ran; its `optimizer` parts
    /// where no instruction runs, less `barrierWait` of the norm; the rest bubble before
    /// `makespan` and waiting after it.
    static func rank(_ instructions: [ScheduleSegment], stageTimes: [LayerTimes], optimizer: [ScheduleSegment], barrierWait: Double,
                     makespan: Double, end: Double) -> Self {
        let (work, busy) = executed(instructions, stageTimes: stageTimes)
        return work + outside(instructions, busy: busy, optimizer: optimizer, barrierWait: barrierWait, makespan: makespan, end: end)
    }

    /// The rank's `instructions` split and scaled to the time each ran, and that time's sum.
    static func executed(_ instructions: [ScheduleSegment], stageTimes: [LayerTimes]) -> (work: Self, busy: Double) {
        var work = Self(), busy = 0.0
        for s in instructions {
            let parts = instruction(s, stageTimes: stageTimes)
            let nominal = parts.total, ran = s.end - s.start
            busy += ran
            if nominal > 0 { work = work + parts * (ran / nominal) }
        }
        return (work, busy)
    }

    /// What the rank does outside its `instructions` (`busy` seconds of them): the optimizer
    /// parts, the bubble and the waits.
    static func outside(_ instructions: [ScheduleSegment], busy: Double, optimizer: [ScheduleSegment], barrierWait: Double,
                        makespan: Double, end: Double) -> Self {
        var b = Self()
        // Seconds of [from, to] that no instruction covers.
        func uncovered(_ from: Double, _ to: Double) -> Double {
            guard to > from else { return 0 }
            return instructions.reduce(to - from) { $0 - max(0, min(to, $1.end) - max(from, $1.start)) }
        }
        var coveredBeforeMakespan = busy, coveredAfter = 0.0
        for s in optimizer {
            let before = uncovered(s.start, min(s.end, makespan)), after = uncovered(max(s.start, makespan), s.end)
            coveredBeforeMakespan += before
            coveredAfter += after
            var own = before + after
            switch OptimizerPart(rawValue: s.label) {
            case .reduceScatter, .allReduce: b.gradientReductionS += own
            case .gradientNorm:
                // (The barrier's wait is a difference of times: keep rounding from making it negative.)
                let waited = max(0, min(barrierWait, own))
                own -= waited
                b.waitS += waited
                b.gradientNormS += own
            case .update: b.optimizerUpdateS += own
            case .allGather: b.allGatherS += own
            case nil: preconditionFailure("optimizer segment \(s.label) is not an optimizer part")
            }
        }
        b.bubbleS = max(0, makespan - coveredBeforeMakespan)
        b.waitS += max(0, end - makespan - coveredAfter)
        return b
    }
}
