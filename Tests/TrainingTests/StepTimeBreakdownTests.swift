import CostModel
import Model
import Schedules
import Testing
@testable import Training

/// Where a rank's step time goes (`StepTimeBreakdown`): each instruction split as its duration
/// is composed, a rank's timeline assembled from instructions, optimizer parts and idle time,
/// and on real steps the parts summing to the step time.
@Suite struct StepTimeBreakdownTests {
    /// A stage with every field distinct, so a wrong field shows.
    static var stage: LayerTimes {
        var t = LayerTimes()
        (t.attentionForward, t.mlpForward, t.otherForward) = (3, 5, 0.5)
        (t.mlpBackwardInput, t.mlpBackwardWeight, t.attentionBackwardInput, t.attentionBackwardWeight) = (6, 4, 5, 2)
        (t.otherBackwardInput, t.otherBackwardWeight) = (0.25, 0.125)
        (t.dispatchForward, t.combineForward, t.combineBackward, t.dispatchBackward) = (7, 1, 2, 11)
        (t.tensorParallelForward, t.tensorParallelBackward, t.contextParallelForward, t.contextParallelBackward) = (0.1, 0.2, 0.3, 0.4)
        (t.fullyShardedForward, t.fullyShardedBackward, t.hostForward, t.hostBackward, t.hostForwardBackward) = (0.05, 0.06, 0.07, 0.08, 0.09)
        t.recomputation = 1.5
        return t
    }

    /// Each instruction's parts sum to the duration the schedule gives it, and put each field
    /// where it belongs. In the pair the all-to-alls count where they outlast the compute beside
    /// them: combine(B) 2 under attn(F) 3 hides; dispatch(F) 7 over mlp(B) 6 shows 1;
    /// dispatch(B) 11 over mlp(W) + mlp(F) 9 shows 2; combine(F) 1 under attn(B) 7 hides.
    @Test func instructionsSplitAsTheirDurations() {
        let t = Self.stage
        let f = StepTimeBreakdown.instruction("F", stages: [t])
        #expect(abs(f.total - t.forward) < 1e-12)
        #expect(f.attentionS == 3 && f.mlpS == 5 && f.allToAllS == 8 && f.hostS == 0.07 && f.recomputationS == 0)
        let b = StepTimeBreakdown.instruction("B", stages: [t])
        #expect(abs(b.total - t.backward) < 1e-12)
        #expect(b.attentionS == 7 && b.mlpS == 10 && b.allToAllS == 13 && b.recomputationS == 1.5)
        let bi = StepTimeBreakdown.instruction("Bi", stages: [t])
        #expect(abs(bi.total - (t.backward - t.weight)) < 1e-12)
        #expect(bi.attentionS == 5 && bi.mlpS == 6)
        let w = StepTimeBreakdown.instruction("W", stages: [t])
        #expect(abs(w.total - t.weight) < 1e-12 && w.allToAllS == 0 && w.hostS == 0)
        let pair = StepTimeBreakdown.instruction("F&B", stages: [t, t])
        #expect(abs(pair.total - t.overlappedForwardBackward) < 1e-12)
        #expect(pair.allToAllS == 3 && pair.attentionS == 10 && pair.mlpS == 15 && pair.hostS == 0.09)
        // Two different stages: the mean of their pairs, as the schedule times it.
        var u = t
        u.dispatchBackward = 20
        let mixed = StepTimeBreakdown.instruction("F&B", stages: [t, u])
        #expect(abs(mixed.total - (t.overlappedForwardBackward + u.overlappedForwardBackward) / 2) < 1e-12)
        #expect(abs(mixed.allToAllS - (3 + 12) / 2) < 1e-12)
    }

    /// The written-out arithmetic covers every field: with every field distinct, b + b is b × 2
    /// field by field, each part doubled, and `total` is the sum of the listed parts.
    @Test func arithmeticCoversEveryField() {
        var b = StepTimeBreakdown()
        for (i, part) in StepTimeBreakdown.parts.enumerated() { b[keyPath: part.key] = Double(i + 1) }
        b.recomputationS = 100
        #expect(b.total == Double((1...15).reduce(0, +)))
        let doubled = b + b
        #expect(doubled == b * 2)
        for part in StepTimeBreakdown.parts { #expect(doubled[keyPath: part.key] == 2 * b[keyPath: part.key], "\(part.name)") }
        #expect(doubled.recomputationS == 200)
    }

    /// One rank's timeline by hand: F on [0, 1] and B on [2, 3] at their nominal durations
    /// scaled to 1 s each; the reduce-scatter on [2.5, 4] is hidden by B up to 3; the norm on
    /// [4, 4.5] waited 0.2 s at the barrier; AdamW [4.5, 4.6]; the all-gather [4.6, 5]; the
    /// pipeline ends at 3.2 and the step at 5.5. Bubble: 3.2 − 2 − 0.2 (the reduce-scatter on
    /// [3, 3.2]); waiting: the barrier's 0.2 and [5, 5.5].
    @Test func aRanksTimelineByHand() {
        var t = LayerTimes()
        (t.attentionForward, t.mlpForward) = (0.25, 0.25)
        (t.attentionBackwardInput, t.mlpBackwardInput) = (0.5, 0.5)
        let instructions = [ScheduleSegment(rank: 0, start: 0, end: 1, label: "F", microbatch: 0, stages: [0]),
                            ScheduleSegment(rank: 0, start: 2, end: 3, label: "B", microbatch: 0, stages: [0])]
        let optimizer = [("RS", 2.5, 4.0), ("norm", 4.0, 4.5), ("AdamW", 4.5, 4.6), ("AG", 4.6, 5.0)]
            .map { ScheduleSegment(rank: 0, start: $0.1, end: $0.2, label: $0.0, microbatch: -1) }
        let b = StepTimeBreakdown.rank(instructions, stageTimes: [t], optimizer: optimizer, barrierWait: 0.2, makespan: 3.2, end: 5.5)
        #expect(abs(b.attentionS - 1.0) < 1e-12 && abs(b.mlpS - 1.0) < 1e-12)
        #expect(abs(b.gradientReductionS - 1.0) < 1e-12)
        #expect(abs(b.bubbleS - 1.0) < 1e-12)
        #expect(abs(b.gradientNormS - 0.3) < 1e-12 && abs(b.optimizerUpdateS - 0.1) < 1e-12 && abs(b.allGatherS - 0.4) < 1e-12)
        #expect(abs(b.waitS - 0.7) < 1e-12)
        #expect(abs(b.total - 5.5) < 1e-12)
    }

    /// DeepSeek-V3's step: on every rank the parts sum to the step time; rank 0's bubble and
    /// host waits are the step's; only ranks 0 and 15 (stages 0 and 15: embedding, head, MTP)
    /// compute outside the layers, 4.9 s of 60 + 60 micro-batches' embedding, heads (BF16,
    /// vocabulary 129,280) and MTP; the all-to-all shows mostly where forwards and backwards
    /// run alone (the middle ranks' 1F and 1B phases, about 1 s), and recomputation is the
    /// RMSNorm and MLA up-projections' share (≈ 0.5 s of ≈ 15 s of compute on a middle rank).
    @Test func deepSeekV3PartsSumToTheStep() throws {
        let step = try StepSimulation(config: try deepSeekStep(), calibration: try KernelCalibration.hopper()).run()
        let ranks = step.timeBreakdownPerRank
        #expect(ranks.count == 16)
        for b in ranks { #expect(abs(b.total - step.stepTimeS) < 1e-9) }
        #expect(abs(ranks[0].bubbleS - step.bubbleS) < 1e-9)
        #expect(abs(ranks[0].hostS - step.hostWaitS) < 1e-9)
        #expect(ranks[0].otherComputeS > 4 && ranks[0].otherComputeS < 6)
        #expect(ranks[1..<15].allSatisfy { $0.otherComputeS == 0 })
        #expect(abs(ranks[0].otherComputeS - ranks[15].otherComputeS) < 1e-9)
        #expect(ranks[7].allToAllS > 0.5 && ranks[7].allToAllS < 1.5)
        #expect(ranks[7].recomputationS > 0.3 && ranks[7].recomputationS < 0.05 * ranks[7].computeS)
        // The optimizer's parts on the last rank to finish make up the optimizer phase.
        let last = ranks.max { $0.optimizerS < $1.optimizerS }!
        #expect(last.optimizerS + last.waitS >= step.optimizerS - 1e-9)
    }

    /// Steps of several pipeline passes (AutoModel's 1,024-GPU V3 plan: 4 passes) and steps
    /// with jittered instructions still sum to the step on every rank; a model without
    /// recomputation recomputes nothing, and full recomputation recomputes about a forward.
    @Test func passesJitterAndRecomputation() throws {
        let calibration = try KernelCalibration.hopper()
        var jittered = try deepSeekStep()
        jittered.instructionJitter = 0.03
        for config in [try shippedStep("automodel-deepseek-v3-1024-h100.yaml"), jittered] {
            let step = try StepSimulation(config: config, calibration: calibration).run()
            #expect(config.pipelinePasses > 1 || config.instructionJitter > 0)
            for b in step.timeBreakdownPerRank { #expect(abs(b.total - step.stepTimeS) < 1e-9 * step.stepTimeS) }
        }
        // Llama 3.1 8B's dense FFN reruns its SwiGLU from the saved input in every backward
        // (a few per cent of the compute); full recomputation adds each layer's forward again.
        var none = try shippedStep("llama-3.1-8b-a100.yaml")
        none.recompute = RecomputePolicy.none
        var full = none
        full.recompute = .full
        let light = try StepSimulation(config: none, calibration: calibration).plan().stageTimes[1]
        let heavy = try StepSimulation(config: full, calibration: calibration).plan().stageTimes[1]
        #expect(light.recomputation > 0 && light.recomputation < 0.05 * light.compute)
        let layersForward = light.attentionForward + light.mlpForward
        let added = heavy.recomputation - light.recomputation
        #expect(added > 0.9 * layersForward && added < 1.1 * layersForward)
    }
}
