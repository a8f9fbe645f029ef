import Schedules

/// One rank's ISCA 2025 Table 4 phases of the pipeline, seconds: its forward-only (1F),
/// overlapped (1F1B), input-backward (1B), weight-backward (1W) instructions and its idle time.
/// ISCA does not say which rank its table measured; `StepResult`'s phases are rank 0's.
public struct RankPhases: Sendable, Codable, Equatable {
    public var forwardOnlyS: Double
    public var steadyS: Double
    public var backwardInputS: Double
    public var backwardWeightS: Double
    public var bubbleS: Double
}

/// The result of one simulated training step.
public struct StepResult: Sendable, Codable, Equatable {
    public var stepTimeS: Double
    /// ISCA 2025 Table 4 phases on rank 0: forward-only (1F), overlapped (1F1B), input-backward
    /// (1B), weight-backward (1W), idle (bubble), and the optimizer.
    public var forwardOnlyS: Double
    public var steadyS: Double
    public var backwardInputS: Double
    public var backwardWeightS: Double
    public var bubbleS: Double
    public var optimizerS: Double
    /// Every rank's phases (rank 0's are the fields above).
    public var phasesPerRank: [RankPhases] = []
    /// Seconds rank 0's GPU waits in its pipeline instructions for the host to launch the next
    /// operation (`HostIssue`); part of the phases above.
    public var hostWaitS = 0.0
    /// Per rank: its optimizer step past its own last pipeline instruction, seconds (ranks whose
    /// pipeline work ends early hide part of theirs in the others' drain; `optimizerS` is what
    /// the last rank adds to the step).
    public var optimizerPerRankS: [Double]
    /// The median rank's optimizer step (the upper median for an even count), seconds; 0 if none.
    public var optimizerMedianRankS: Double {
        optimizerPerRankS.isEmpty ? 0 : optimizerPerRankS.sorted()[optimizerPerRankS.count / 2]
    }
    public var pipelineS: Double
    /// Per rank, its optimizer parts as timeline segments (`OptimizerPart` labels: "RS" or "AR",
    /// "AdamW", "AG"; micro-batch −1).
    public var optimizerSegments: [ScheduleSegment]
    public var tokensPerStep: Int
    public var tokensPerDay: Double
    public var tflopsPerGpuCausal: Double
    public var tflopsPerGpuNoncausal: Double
    /// Against the dense BF16 peak (the convention DeepSeek uses).
    public var mfuCausal: Double
    public var mfuNoncausal: Double
    public var perRankUtilisation: [Double]
    /// Layers per stage (the first stage also holds the embedding, the last the head and MTP).
    public var stageLayers: [Int]
    /// Per stage: forward, full backward, weight backward, overlapped F&B, seconds.
    public var stageForwardS: [Double]
    public var stageBackwardS: [Double]
    public var stageWeightS: [Double]
    public var stageForwardBackwardS: [Double]
    /// One MoE layer's times (for comparison with the trace).
    public var moeLayer: LayerTimes
    public var dispatchS: Double
    public var combineS: Double
    /// With micro-batch routings (`MicrobatchRouting`): the MoE layer's time under each draw on
    /// that draw's busiest GPU (overlapped F&B by the slot rule when the schedule pairs them,
    /// else forward + backward), seconds; draw 0 is `moeLayer`'s. nil without. (The step's pairs
    /// run each GPU on its own rows, `EPGroupOverlap`, and take less.)
    public var moeLayerDrawsS: [Double]? = nil
    /// Where each rank's step time goes (`StepTimeBreakdown`; the parts sum to `stepTimeS`).
    public var timeBreakdownPerRank: [StepTimeBreakdown] = []
    /// The pipeline's instructions, of one pass of the schedule (the step's last, when it runs
    /// several: `StepConfiguration.pipelinePasses`).
    public var segments: [ScheduleSegment]
}
