/// A pre-training throughput NVIDIA publishes for Megatron-Bridge on DGX H100, and the plan it
/// ran (NVIDIA-NeMo/Megatron-Bridge, `docs/performance-summary.md` at commit 00b7660, "25.11 NeMo
/// Container", DGX-H100 table): FP8-CS (Transformer Engine, per-tensor current scaling),
/// micro-batch 1, DDP (FSDP 0), interleaved 1F1B. The shipped experiment of each is that plan;
/// `llmsim validate` checks it.
public struct PublishedNeMoRun: Sendable {
    /// The model, as the table names it, and the file that plans the run.
    public var model: String, experiment: String
    public var tokensPerSecondPerGPU: Double
    public var gpus: Int, batch: Int, sequence: Int, tp: Int, pp: Int, cp: Int, virtualStages: Int
    /// The model's shape, to recognise it: hidden size, layers, attention heads.
    public var hidden: Int, layers: Int, heads: Int

    /// The step time the published throughput implies: batch × sequence / (tokens/s/GPU × GPUs).
    public var stepSeconds: Double { Double(batch * sequence) / (tokensPerSecondPerGPU * Double(gpus)) }

    /// Whether `c` runs the published plan: the model's shape, the GPUs, TP, PP, CP and
    /// interleaved chunks, the batch in one-sequence micro-batches, FP8 with per-tensor scales.
    public func matches(_ c: StepConfiguration) -> Bool {
        c.model.hiddenSize == hidden && c.model.layers == layers && c.model.attention.heads == heads
            && c.gpus == gpus && c.tp == tp && c.pp == pp && c.cp == cp && c.schedule == .interleaved && c.virtualStages == virtualStages
            && c.dp * c.microbatches == batch && c.microbatchTokens == sequence && c.microbatchSequences == 1
            && c.precision == .tensorScaledFP8
    }

    /// Llama 3 70B on 64 H100: 128 × 8,192 tokens, TP 4, PP 8, VP 5: 1,602 tokens/s per GPU
    /// (719 model TFLOP/s), a step of 10.23 s.
    public static let llama3_70B = PublishedNeMoRun(model: "Llama 3 70B", experiment: "nemo-llama3-70b-h100.yaml", tokensPerSecondPerGPU: 1602,
                                                    gpus: 64, batch: 128, sequence: 8192, tp: 4, pp: 8, cp: 1, virtualStages: 5,
                                                    hidden: 8192, layers: 80, heads: 64)
    /// Llama 3.1 405B on 1,024 H100: 512 × 8,192 tokens, TP 8, PP 8, CP 2, VP 8: 292 tokens/s
    /// per GPU (737 model TFLOP/s), a step of 14.03 s.
    public static let llama31_405B = PublishedNeMoRun(model: "Llama 3.1 405B", experiment: "nemo-llama31-405b-h100.yaml", tokensPerSecondPerGPU: 292,
                                                      gpus: 1024, batch: 512, sequence: 8192, tp: 8, pp: 8, cp: 2, virtualStages: 8,
                                                      hidden: 16384, layers: 126, heads: 128)
    public static let all = [llama3_70B, llama31_405B]
}
