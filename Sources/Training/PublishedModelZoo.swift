import Model

/// Step times NVIDIA publishes for Megatron-LM MoE runs in its Megatron MoE Model Zoo
/// (yanring/Megatron-MoE-ModelZoo, `best_practice/Qwen3/readme.md`, "Performance Results": 256
/// H100, NVLink 4, InfiniBand 8 × 50 GB/s per node, BF16, sequence 4,096), and the plan each ran.
/// The shipped experiment of each is that plan; `llmsim validate` checks it.
public struct PublishedModelZooRun: Sendable {
    public var name: String, experiment: String
    public var stepSeconds: Double
    public var gpus: Int, tp: Int, pp: Int, virtualStages: Int, ep: Int, batch: Int
    public var recomputeModules: Set<RecomputeModule>
    /// Megatron-Core's 1F1B all-to-all overlap (`--overlap-moe-expert-parallel-comm`).
    public var overlap: Bool

    /// Whether `c` runs the published plan: Qwen3-235B-A22B's shape, the GPUs, TP, PP × VP
    /// interleaved, EP, one sequence per micro-batch, the batch, BF16, DeepEP, the recomputed
    /// modules, the overlap.
    public func matches(_ c: StepConfiguration) -> Bool {
        c.model.hiddenSize == 4096 && c.model.layers == 94 && c.model.moe?.routedExperts == 128
            && c.gpus == gpus && c.tp == tp && c.pp == pp && c.schedule == .interleaved && c.virtualStages == virtualStages && c.ep == ep && c.etp == 1
            && c.microbatchSequences == 1 && c.microbatchTokens == 4096 && c.batchPipelines * c.microbatches == batch
            && c.precision == .bf16 && c.moeDispatcher == .deepep && c.effectiveRecompute == .none && c.recomputeModules == recomputeModules
            && c.pairsForwardBackward == overlap
    }

    /// Qwen3-235B-A22B, DeepEP, TP 2, EP 32, PP 8 × 4, DP 16, MBS 1, GBS 2,048 (GA 128), the norms
    /// and the experts' activation recomputed: 19.7 s per step (245 TFLOP/s per GPU as Megatron
    /// counts).
    public static let qwen3_235B = PublishedModelZooRun(
        name: "Qwen3-235B-A22B step, 256 H100, BF16, TP2 PP8 VP4 EP32", experiment: "megatron-qwen3-235b-h100.yaml", stepSeconds: 19.7,
        gpus: 256, tp: 2, pp: 8, virtualStages: 4, ep: 32, batch: 2048, recomputeModules: [.layernorm, .moeAct], overlap: false)
    /// The same with the 1F1B all-to-all overlap: 17.6 s per step (276 TFLOP/s).
    public static let qwen3_235B_overlap = PublishedModelZooRun(
        name: "same, with 1F1B all-to-all overlap", experiment: "megatron-qwen3-235b-h100-a2a-overlap.yaml", stepSeconds: 17.6,
        gpus: 256, tp: 2, pp: 8, virtualStages: 4, ep: 32, batch: 2048, recomputeModules: [.layernorm, .moeAct], overlap: true)
    public static let all = [qwen3_235B, qwen3_235B_overlap]
}
