/// DeepSeek-V3's published training figures, in one place for every report that prints them
/// beside the simulated ones (`llmsim step`, `run`, `validate`). Tests keep their own literals:
/// they are the independent oracle.
public enum PublishedDeepSeekV3 {
    /// ISCA 2025 Table 4 (MPFT column), seconds per full-batch step and its phases.
    public static let stepSeconds = 19.926
    public static let forwardOnlySeconds = 1.13
    public static let steadySeconds = 13.95
    public static let backwardInputSeconds = 1.99
    public static let backwardWeightSeconds = 0.48
    public static let bubbleSeconds = 2.06
    public static let optimizerSeconds = 0.29
    /// ISCA 2025 Table 4: tokens per day, TFLOPS per GPU (causal / non-causal), causal MFU.
    public static let tokensPerDay = 272.80e9
    public static let tflopsCausal = 385.0
    public static let tflopsNoncausal = 432.0
    public static let mfuCausal = 0.3894
    /// DeepSeek's profile trace (`train.json`, perfectly balanced simulated routing, EP64, 4,096
    /// tokens per GPU; reference §3.2, validation case 11): one overlapped F&B chunk pair of 4
    /// MoE layers, seconds; the share of it the compute streams are busy (at least); one
    /// layer's forward and backward (input + weight) compute, seconds (the trace's per-layer
    /// kernel time: attn(F) 4.370 + mlp(F) 4.604 ms; mlp(B) 5.306 + mlp(W) 6.378 + attn(B) 9.341
    /// + attn(W) 2.388 ms).
    public static let chunkPairSeconds = 0.129
    public static let chunkComputeBusy = 0.90
    public static let layerForwardComputeSeconds = 0.0090
    public static let layerBackwardComputeSeconds = 0.0234
    /// V3 report Table 1 and §1: H800 GPU-hours and dollars.
    public static let preTrainingGPUHours = 2_664_000.0
    public static let contextExtensionGPUHours = 119_000.0
    public static let postTrainingGPUHours = 5_000.0
    public static let totalGPUHours = 2_788_000.0
    public static let gpuHoursPerTrillionTokens = 180_000.0
    public static let costUSD = 5_576_000.0
    /// Table 1's phases as `Experiments/deepseek-v3.yaml` names them (the report prices both
    /// context extensions together).
    public static let preTraining = "pre-training", contextExtension32K = "context-extension-32k",
                      contextExtension128K = "context-extension-128k", postTraining = "post-training"

    /// The GPU the published figures were measured on (V3 report §3.1: 2,048 H800).
    public static let deviceID = "H800-SXM5-80GB"

    /// What a report adds to "published" so a what-if on another GPU does not read as the
    /// reproduction: "" on the H800, " on H800" otherwise (`describes` accepts any GPU on the
    /// published plan).
    public static func deviceQualifier(_ c: StepConfiguration) -> String {
        c.topology.node.device.id == deviceID ? "" : " on H800"
    }

    /// Whether a configuration runs the published plan (V3 report §3.2, §4.2; reference
    /// validation case 6: 2,048 GPUs, PP16 DualPipe, EP64, TP1, no CP, 120 micro-batches of one
    /// 4,096-token sequence per pipeline, DeepSeek's FP8), so that reports show the published
    /// column beside it. The cluster's network, its GPU and the kernel settings may differ (a
    /// what-if on the same plan still compares with the published step, the column then naming
    /// the H800: `deviceQualifier`); a different plan may not.
    public static func describes(_ c: StepConfiguration) -> Bool {
        c.model.name == "deepseek-v3" && c.gpus == 2048 && c.pp == 16 && c.ep == 64 && c.etp == 1 && c.tp == 1 && c.cp == 1
            && c.schedule == .dualpipe && c.microbatches == 120 && c.microbatchTokens == 4096 && c.microbatchSequences == 1
            && c.precision == .deepSeekFP8
    }

    /// Whether a run is the published one (V3 report §4.2, §4.3, Table 1): the published plan,
    /// a 14.8T-token pre-training, and the report's other phases by name (both context
    /// extensions and post-training), so that the run report compares GPU-hours and dollars
    /// with Table 1. Another budget or set of phases is a different run, even on the published
    /// plan.
    public static func describesRun(_ c: StepConfiguration, phases: [PhaseResult]) -> Bool {
        guard describes(c), Set(phases.map(\.name)) == [preTraining, contextExtension32K, contextExtension128K, postTraining],
              let pre = phases.first(where: { $0.name == preTraining }) else { return false }
        return abs(pre.tokens / 14.8e12 - 1) < 1e-3
    }
}
