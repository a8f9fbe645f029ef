/// NVIDIA's published Llama 3 70B pre-training throughput on DGX H100 with Megatron-Bridge
/// (NVIDIA-NeMo/Megatron-Bridge, `docs/performance-summary.md` at commit 00b7660, "25.11 NeMo
/// Container", DGX-H100 table): 64 H100, FP8-CS (Transformer Engine, per-tensor current
/// scaling), global batch 128 sequences of 8,192 tokens, micro-batch 1, TP 4, PP 8, VP 5, DDP
/// (FSDP 0), CP 1: 1,602 tokens/s and 719 model TFLOP/s per GPU.
/// `Experiments/nemo-llama3-70b-h100.yaml` is that plan; `llmsim validate` checks it.
public enum PublishedNeMoLlama3_70B {
    public static let tokensPerSecondPerGPU = 1602.0
    public static let gpus = 64, batch = 128, sequence = 8192, tp = 4, pp = 8, virtualStages = 5

    /// The step time the published throughput implies: 128 × 8,192 / (1,602 × 64) ≈ 10.23 s.
    public static var stepSeconds: Double { Double(batch * sequence) / (tokensPerSecondPerGPU * Double(gpus)) }

    /// Whether `c` runs the published plan: Llama 3 70B's shape, the GPUs, TP, PP and interleaved
    /// chunks, the batch in one-sequence micro-batches of 8,192 tokens, FP8 with per-tensor scales.
    public static func matches(_ c: StepConfiguration) -> Bool {
        c.model.hiddenSize == 8192 && c.model.layers == 80 && c.model.attention.heads == 64
            && c.gpus == gpus && c.tp == tp && c.pp == pp && c.schedule == .interleaved && c.virtualStages == virtualStages
            && c.dp * c.microbatches == batch && c.microbatchTokens == sequence && c.microbatchSequences == 1
            && c.precision == .tensorScaledFP8
    }
}
