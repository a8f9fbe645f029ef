/// NeMo AutoModel's published pre-training runs on DGX H100 (NVIDIA-NeMo/Automodel,
/// `docs/performance-summary.md`, "System: DGX-H100, Precision: BF16", the MoE rows as updated
/// 2025-10-02, the Llama 3.1 70B row as of 2026-04-17): PyTorch with FSDP2, Transformer Engine's
/// kernels and DeepEP, mock data, a forced-balanced router ("fake balanced gate"), no gradient
/// clipping, the step's optimizer included. The MoE configurations
/// (`examples/benchmark/configs/*_te_deepep.yaml`) checkpoint every block
/// (`activation_checkpointing: true`) and train BF16 parameters with `torch.optim.Adam`.
///
/// The MoE models' FSDP2 synchronises once per step: `MoEFSDPSyncMixin` turns gradient reduction and
/// resharding off for every backward but the step's last (`set_requires_gradient_sync(False)`,
/// `set_reshard_after_backward(False)`), and the MoE parallelizer does not reshard after the
/// forward. So each layer's weights are gathered once, before its first forward, and kept; its
/// gradients accumulate unsharded (in FP32, FSDP2's reduce dtype) and are reduce-scattered once,
/// as the last backward makes them final; Adam updates the shards. llmsim plans that as the
/// distributed optimizer with both overlaps (`overlap_grad_reduce`, `overlap_param_gather`),
/// which moves the same bytes at the same points of the step and holds the same memory.
extension PublishedNeMoRun {
    /// Qwen3-30B-A3B on 8 H100: 512 × 4,096 tokens in micro-batches of 4 sequences, EP 8, FSDP
    /// over the 8 GPUs, GA 16: 21.773 s per step (12,040 tokens/s per GPU).
    public static let autoModelQwen3_30B_A3B = autoModelRow(summary: "2025-10-02", PublishedNeMoRun(
        model: "Qwen3-30B-A3B", experiment: "automodel-qwen3-30b-a3b-h100.yaml", tokensPerSecondPerGPU: 12_040, gpus: 8, batch: 512, sequence: 4096, tp: 1, pp: 1, cp: 1, virtualStages: nil,
        microbatchSequences: 4, ep: 8, hidden: 2048, layers: 48, heads: 32))

    /// DeepSeek-V3 (no MTP module: AutoModel's `DeepseekV3ForCausalLM` has none) on 256 H100:
    /// 512 × 4,096 tokens, one sequence per micro-batch, PP 4 with 8 virtual stages
    /// (interleaved 1F1B), EP 64, FSDP over the 64 data-parallel GPUs, 8 micro-batches per
    /// pipeline (GA 1): 8.18 s per step (1,002 tokens/s per GPU).
    public static let autoModelDeepSeekV3 = autoModelRow(summary: "2025-10-02", PublishedNeMoRun(
        model: "DeepSeek-V3", experiment: "automodel-deepseek-v3-h100.yaml", tokensPerSecondPerGPU: 1_002, gpus: 256, batch: 512, sequence: 4096, tp: 1, pp: 4, cp: 1, virtualStages: 8,
        ep: 64, hidden: 7168, layers: 61, heads: 128))

    /// The same DeepSeek-V3 plan on 1,024 H100: FSDP over 256, 8,192 sequences as local batch
    /// 8 and GA 4, so 4 passes of the schedule over 8 micro-batches per step: 37.87 s per step
    /// (865 tokens/s per GPU).
    public static let autoModelDeepSeekV3_1024 = autoModelRow(summary: "2025-10-02", PublishedNeMoRun(
        model: "DeepSeek-V3", experiment: "automodel-deepseek-v3-1024-h100.yaml", tokensPerSecondPerGPU: 865, gpus: 1024, batch: 8192, sequence: 4096, tp: 1, pp: 4, cp: 1, virtualStages: 8,
        ep: 64, pipelinePasses: 4, hidden: 7168, layers: 61, heads: 128))

    /// Kimi K2 on 256 H100: 512 × 4,096 tokens, PP 8 with 4 virtual stages, EP 32, FSDP over the
    /// 32 data-parallel GPUs, local batch 8 and GA 2 (2 passes of 8 micro-batches): 8.86 s per
    /// step (924 tokens/s per GPU).
    public static let autoModelKimiK2 = autoModelRow(summary: "2025-10-02", PublishedNeMoRun(
        model: "Kimi K2", experiment: "automodel-kimi-k2-h100.yaml", tokensPerSecondPerGPU: 924, gpus: 256, batch: 512, sequence: 4096, tp: 1, pp: 8, cp: 1, virtualStages: 4,
        ep: 32, pipelinePasses: 2, hidden: 7168, layers: 61, heads: 64))

    /// Llama 3.1 70B on 64 H100 (the summary as of 2026-04-17; configuration
    /// `examples/llm_pretrain/llama3_1_70b_pretrain_benchmark_8nodes_tp1cp2pp1.yaml`): 128 ×
    /// 8,192 tokens, CP 2, DP 32, GA 4, FSDP2 reducing and resharding every micro-batch
    /// (`defer_fsdp_grad_sync: false`) with prefetching, every block checkpointed: 866.77
    /// tokens/s per GPU, 18.90 s per step. The one dense row: no all-to-all, no pipeline.
    public static let autoModelLlama31_70B = autoModelRow(summary: "2026-04-17", PublishedNeMoRun(
        model: "Llama 3.1 70B", experiment: "automodel-llama31-70b-h100.yaml", tokensPerSecondPerGPU: 866.77, gpus: 64, batch: 128, sequence: 8192, tp: 1, pp: 1, cp: 2, virtualStages: nil,
        fsdp: true, hidden: 8192, layers: 80, heads: 64))

    /// GPT-OSS 20B on 8 H100 (the summary as of 2026-04-17; configuration
    /// `examples/benchmark/configs/gptoss_20b_te_deepep.yaml`): 256 × 4,096 tokens in
    /// micro-batches of 2 sequences, EP 8, FSDP over the 8, GA 16, no activation checkpointing,
    /// FlexAttention: 13,058 tokens/s per GPU, 10.04 s per step.
    public static let autoModelGPTOSS20B = autoModelRow(summary: "2026-04-17", PublishedNeMoRun(
        model: "GPT-OSS 20B", experiment: "automodel-gpt-oss-20b-h100.yaml", tokensPerSecondPerGPU: 13_058, gpus: 8, batch: 256, sequence: 4096, tp: 1, pp: 1, cp: 1, virtualStages: nil,
        microbatchSequences: 2, ep: 8, hidden: 2880, layers: 24, heads: 64))

    /// GPT-OSS 120B on 64 H100: 512 × 4,096 tokens in micro-batches of 2 sequences, EP 64, FSDP
    /// over the 64, GA 4: 7,626 tokens/s per GPU, 4.30 s per step.
    public static let autoModelGPTOSS120B = autoModelRow(summary: "2026-04-17", PublishedNeMoRun(
        model: "GPT-OSS 120B", experiment: "automodel-gpt-oss-120b-h100.yaml", tokensPerSecondPerGPU: 7_626, gpus: 64, batch: 512, sequence: 4096, tp: 1, pp: 1, cp: 1, virtualStages: nil,
        microbatchSequences: 2, ep: 64, hidden: 2880, layers: 36, heads: 64))

    /// An AutoModel row: BF16, FSDP2 (which llmsim plans under other names), the summary as of
    /// `date`, and for an MoE model the benchmarks' round-robin gate (`fake_balanced_gate`).
    static func autoModelRow(summary date: String, _ run: PublishedNeMoRun) -> PublishedNeMoRun {
        var r = run
        r.source = "NeMo AutoModel, \(date)"
        r.precision = .bf16
        r.dataParallelLabel = "FSDP2"
        if r.ep > 1 { r.gate = .roundRobin }
        return r
    }

    public static let autoModel = [autoModelQwen3_30B_A3B, autoModelDeepSeekV3, autoModelDeepSeekV3_1024, autoModelKimiK2, autoModelLlama31_70B,
                                   autoModelGPTOSS20B, autoModelGPTOSS120B]
}
