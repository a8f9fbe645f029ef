/// Hybrid-EP's published GB200 bandwidths (deepseek-ai/DeepEP, `Hybrid-EP_Implementation.md`,
/// "GB200 Platform", HybridEP table, "Kernel Only" columns): one NVLink domain of `ep` GB200
/// GPUs (multi-node NVLink), 4,096 tokens per GPU, hidden 7,168, top-8 of 8 experts per GPU
/// drawn uniformly (`GateKind.hybridepBenchmark`). "Algorithm bandwidth": the token bytes a GPU
/// receives, its own tokens included, over the kernel's time (`tests/test_hybrid_ep.py`:
/// `dispatched_hidden.numel() * 2`, times (1 + 4/128)/2 for FP8) — DeepEP's intranode
/// convention, which `MoEAllToAll` reports inside one NVLink domain.
///
/// The kernel-only columns are the ones a step needs: Megatron-Core fuses the copy out of
/// Hybrid-EP's buffer into the permute that follows the dispatch (NVIDIA's DeepSeek-V3 GB200
/// guide, Megatron-LM `docs/discussions/deepseek-v3-gb200-optimization`, §2.5), which llmsim
/// prices as its own kernel. The "Torch API" columns, 70–80 % of these, include that copy.
public enum HybridEPTable {
    /// The node template of its GPUs in llmsim's catalog: GB200 NVL72 compute trays.
    public static let node = "GB200-NVL72-TRAY"
    /// Experts per GPU in its benchmark (`NUM_LOCAL_EXPERTS`).
    public static let expertsPerGPU = 8
    /// Tokens per GPU, hidden size and top-K of its benchmark.
    public static let tokensPerGPU = 4096, hidden = 7168, topK = 8

    /// One row: EP (GPUs of one NVLink domain), SMs, kernel-only GB/s of FP8 dispatch, BF16
    /// dispatch and (BF16) combine.
    public struct Row: Sendable, Equatable {
        public var ep: Int, sms: Int, dispatchFP8: Double, dispatchBF16: Double, combine: Double
    }

    /// The table's kernel-only rows.
    public static let gb200: [Row] = [
        Row(ep: 8, sms: 16, dispatchFP8: 620.98, dispatchBF16: 750.15, combine: 684.27),
        Row(ep: 8, sms: 32, dispatchFP8: 713.98, dispatchBF16: 764.03, combine: 737.13),
        Row(ep: 16, sms: 16, dispatchFP8: 577.17, dispatchBF16: 661.93, combine: 600.75),
        Row(ep: 16, sms: 32, dispatchFP8: 650.48, dispatchBF16: 706.95, combine: 666.26),
        Row(ep: 24, sms: 16, dispatchFP8: 360.12, dispatchBF16: 637.80, combine: 565.53),
        Row(ep: 24, sms: 32, dispatchFP8: 577.96, dispatchBF16: 665.97, combine: 639.80),
        Row(ep: 32, sms: 16, dispatchFP8: 286.93, dispatchBF16: 629.79, combine: 547.25),
        Row(ep: 32, sms: 32, dispatchFP8: 538.86, dispatchBF16: 642.23, combine: 605.15),
        Row(ep: 36, sms: 16, dispatchFP8: 260.53, dispatchBF16: 612.85, combine: 543.27),
        Row(ep: 36, sms: 32, dispatchFP8: 489.27, dispatchBF16: 632.31, combine: 596.99),
    ]

    /// The SMs Megatron-Bridge's recipes give Hybrid-EP (`moe_hybridep_num_sms = 32`), whose
    /// rows `llmsim validate` checks.
    public static let recipeSMs = 32
}
