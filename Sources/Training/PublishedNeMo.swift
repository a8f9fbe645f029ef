import Kernels
import Model

/// A pre-training throughput NVIDIA publishes for its NeMo frameworks, and the plan it ran.
/// Megatron-Bridge (NVIDIA-NeMo/Megatron-Bridge, `docs/performance-summary.md` at commit
/// 00b7660, "25.11 NeMo Container", the DGX-H100, DGX-B200, DGX-GB200 and DGX-GB300 tables): FP8-CS
/// (Transformer Engine, per-tensor current scaling), interleaved 1F1B with DDP (FSDP 0), or one
/// stage with FSDP or DDP. NeMo AutoModel (`PublishedNeMoRun.autoModel`, DGX H100). The shipped
/// experiment of each is that plan; `llmsim validate` checks it. The B200, GB200 and GB300 rows check
/// llmsim's what-if to another GPU: the H800's calibration carried to their peaks.
public struct PublishedNeMoRun: Sendable {
    /// The model, as the table names it, and the file that plans the run.
    public var model: String, experiment: String
    /// Where the figure is published, as `llmsim validate` cites it.
    public var source = "Megatron-Bridge 25.11"
    public var precision = PrecisionPolicy.tensorScaledFP8
    /// The data-parallel scheme as the source names it, where llmsim plans it under another name
    /// (nil: `fsdp` says it).
    public var dataParallelLabel: String? = nil
    public var tokensPerSecondPerGPU: Double
    /// The GPU as the table's system names it, and its catalog id.
    public var gpu = "H100", deviceID = "H100-SXM5-80GB"
    /// Virtual stages of an interleaved pipeline (1: a plain 1F1B pipeline; nil: no pipeline,
    /// PP 1); FSDP (Megatron-FSDP).
    public var gpus: Int, batch: Int, sequence: Int, tp: Int, pp: Int, cp: Int, virtualStages: Int?, fsdp = false
    /// Sequences per micro-batch (MBS) and the expert-parallel group (1 for a dense model).
    public var microbatchSequences = 1, ep = 1
    /// Schedule runs per step (AutoModel's GA under pipeline parallelism; 1 elsewhere).
    public var pipelinePasses = 1
    /// The gate that routed the tokens of an MoE model (AutoModel's benchmarks: round-robin).
    public var gate = GateKind.router
    /// Layers whose activations the recipe offloads to host memory (Megatron-Core's
    /// `cpu_offloading_num_layers`; nil: none).
    public var offloadedLayers: Int? = nil
    /// The MoE dispatcher the recipe runs (nil: not checked).
    public var dispatcher: MoEDispatcher? = nil
    /// The model's shape, to recognise it: hidden size, layers, attention heads, MTP modules.
    public var hidden: Int, layers: Int, heads: Int, mtpDepth = 0

    /// The step time the published throughput implies: batch × sequence / (tokens/s/GPU × GPUs).
    public var stepSeconds: Double { Double(batch * sequence) / (tokensPerSecondPerGPU * Double(gpus)) }

    /// Whether `c` runs the published plan: the GPU, the model's shape, the GPUs, TP, PP, CP, EP, the
    /// interleaved chunks, FSDP, the batch in micro-batches of MBS sequences, the precision, the
    /// gate, the layers offloaded.
    public func matches(_ c: StepConfiguration) -> Bool {
        let pipeline = virtualStages.map { $0 == 1 ? c.schedule == .oneFOneB : c.schedule == .interleaved && c.virtualStages == $0 } ?? (c.pp == 1)
        return c.topology.node.device.id == deviceID && c.model.hiddenSize == hidden && c.model.layers == layers && c.model.attention.heads == heads && c.model.mtpDepth == mtpDepth
            && c.gpus == gpus && c.tp == tp && c.pp == pp && c.cp == cp && c.ep == ep && c.etp == 1 && pipeline && c.optimizer.fullySharded == fsdp
            && c.pipelinePasses == pipelinePasses && c.batchPipelines * c.microbatches * microbatchSequences == batch
            && c.microbatchTokens == sequence * microbatchSequences
            && c.microbatchSequences == microbatchSequences
            && c.precision == precision && (c.model.moe == nil || c.routingGate == gate)
            && c.activationOffload?.layers == offloadedLayers && (dispatcher.map { c.moeDispatcher == $0 } ?? true)
    }

    /// The plan in a few words: "TP4 PP8 VP5", "TP8 PP8 CP2 VP8", "FSDP, 40 layers offloaded".
    public var plan: String {
        var parts = [tp > 1 ? "TP\(tp)" : nil, pp > 1 ? "PP\(pp)" : nil, cp > 1 ? "CP\(cp)" : nil, virtualStages.map { "VP\($0)" },
                     ep > 1 ? "EP\(ep)" : nil].compactMap { $0 }
        if let label = dataParallelLabel { parts.append(label) } else if fsdp { parts.append("FSDP") }
        if pipelinePasses > 1 { parts.append("GA\(pipelinePasses)") }
        return parts.joined(separator: " ") + (offloadedLayers.map { ", \($0) layers offloaded" } ?? "")
    }

    /// This row with `change` made: a published row that differs from another in a few fields.
    func changing(_ change: (inout PublishedNeMoRun) -> Void) -> PublishedNeMoRun {
        var run = self
        change(&run)
        return run
    }

    /// The same published plan run on another GPU, planned by its own experiment, at the
    /// throughput the other GPU's table gives.
    func onAnotherGPU(_ gpu: String, deviceID: String, experiment: String, tokensPerSecondPerGPU: Double) -> PublishedNeMoRun {
        changing { run in (run.gpu, run.deviceID, run.experiment, run.tokensPerSecondPerGPU) = (gpu, deviceID, experiment, tokensPerSecondPerGPU) }
    }

    /// "BF16", "FP8", "FP8-MX" or "NVFP4", as the tables name the precision.
    public var precisionLabel: String {
        switch precision.linear {
        case .fp4: "NVFP4"
        case .fp8: precision.quantization == .mx ? "FP8-MX" : "FP8"
        default: "BF16"
        }
    }

    /// The same published plan with Transformer Engine's MXFP8 recipe, planned by its own
    /// experiment, at the throughput the table gives it.
    func withMXFP8(experiment: String, tokensPerSecondPerGPU: Double) -> PublishedNeMoRun {
        changing { run in (run.precision, run.experiment, run.tokensPerSecondPerGPU) = (.mxFP8, experiment, tokensPerSecondPerGPU) }
    }

    /// The same published plan with Transformer Engine's NVFP4 recipe, planned by its own
    /// experiment, at the throughput the table gives it.
    func withNVFP4(experiment: String, tokensPerSecondPerGPU: Double) -> PublishedNeMoRun {
        changing { run in (run.precision, run.experiment, run.tokensPerSecondPerGPU) = (.nvfp4, experiment, tokensPerSecondPerGPU) }
    }

    /// Llama 3 8B on 8 H100 with FSDP: 128 × 8,192 tokens, no TP, PP or CP, GA 16: 14,451
    /// tokens/s per GPU (744 model TFLOP/s), a step of 9.07 s.
    public static let llama3_8B = PublishedNeMoRun(model: "Llama 3 8B", experiment: "nemo-llama3-8b-h100.yaml", tokensPerSecondPerGPU: 14451,
                                                   gpus: 8, batch: 128, sequence: 8192, tp: 1, pp: 1, cp: 1, virtualStages: nil, fsdp: true,
                                                   hidden: 4096, layers: 32, heads: 32)

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
    /// Qwen3-30B-A3B on 16 H100: 512 × 4,096 tokens in micro-batches of 2 sequences, PP 2, VP 24,
    /// EP 8: 5,275 tokens/s per GPU (121 model TFLOP/s), a step of 24.85 s.
    public static let qwen3_30B_A3B = PublishedNeMoRun(model: "Qwen3-30B-A3B", experiment: "nemo-qwen3-30b-a3b-h100.yaml", tokensPerSecondPerGPU: 5275,
                                                       gpus: 16, batch: 512, sequence: 4096, tp: 1, pp: 2, cp: 1, virtualStages: 24,
                                                       microbatchSequences: 2, ep: 8, hidden: 2048, layers: 48, heads: 32)
    /// Llama 3 8B on 8 B200 (one DGX B200): 128 × 8,192 tokens in micro-batches of 2 sequences,
    /// DDP, GA 8, the whole iteration in a CUDA graph: 30,624 tokens/s per GPU (1,576 model
    /// TFLOP/s), a step of 4.28 s.
    public static let llama3_8B_B200 = PublishedNeMoRun(model: "Llama 3 8B", experiment: "nemo-llama3-8b-b200.yaml", dataParallelLabel: "DDP",
                                                        tokensPerSecondPerGPU: 30624, gpu: "B200", deviceID: "B200-SXM-180GB", gpus: 8, batch: 128, sequence: 8192, tp: 1, pp: 1, cp: 1,
                                                        virtualStages: nil, microbatchSequences: 2, hidden: 4096, layers: 32, heads: 32)
    /// Llama 3 8B on 8 GB200 (two NVL72 trays): the same plan without CUDA graphs: 31,508
    /// tokens/s per GPU (1,622 model TFLOP/s), a step of 4.16 s.
    public static let llama3_8B_GB200 = llama3_8B_B200.onAnotherGPU("GB200", deviceID: "GB200-186GB", experiment: "nemo-llama3-8b-gb200.yaml",
                                                                    tokensPerSecondPerGPU: 31508)
    /// Llama 3 8B on 8 GB300 (Blackwell Ultra, two NVL72 trays): the GB200's plan, the whole
    /// iteration in a CUDA graph (the recipe's preset): 37,556 tokens/s per GPU (1,933 model
    /// TFLOP/s), a step of 3.49 s.
    public static let llama3_8B_GB300 = llama3_8B_B200.onAnotherGPU("GB300", deviceID: "GB300-279GB", experiment: "nemo-llama3-8b-gb300.yaml",
                                                                    tokensPerSecondPerGPU: 37556)
    /// Llama 3.1 405B on 128 B200: 64 × 8,192 tokens, TP 4, PP 8, CP 2, VP 8, GA 32: 661
    /// tokens/s per GPU (1,667 model TFLOP/s), a step of 6.20 s.
    public static let llama31_405B_B200 = PublishedNeMoRun(model: "Llama 3.1 405B", experiment: "nemo-llama31-405b-b200.yaml",
                                                           tokensPerSecondPerGPU: 661, gpu: "B200", deviceID: "B200-SXM-180GB", gpus: 128, batch: 64, sequence: 8192, tp: 4, pp: 8, cp: 2, virtualStages: 8,
                                                           hidden: 16384, layers: 126, heads: 128)
    /// Llama 3 70B on 64 GB200 (one NVL72 rack's NVLink domain): 256 × 8,192 tokens in
    /// micro-batches of 2 sequences, FSDP, GA 2, the activations of the first 40 of 80 layers
    /// offloaded to the Grace CPUs' memory: 4,312 tokens/s per GPU (1,937 model TFLOP/s), a step
    /// of 7.60 s.
    public static let llama3_70B_GB200 = PublishedNeMoRun(model: "Llama 3 70B", experiment: "nemo-llama3-70b-gb200.yaml", tokensPerSecondPerGPU: 4312,
                                                          gpu: "GB200", deviceID: "GB200-186GB", gpus: 64, batch: 256, sequence: 8192, tp: 1, pp: 1, cp: 1,
                                                          virtualStages: nil, fsdp: true, microbatchSequences: 2, offloadedLayers: 40,
                                                          hidden: 8192, layers: 80, heads: 64)
    /// Llama 3 70B on 64 GB300: the GB200's plan with 20 layers offloaded: 4,520 tokens/s per GPU
    /// (2,030 model TFLOP/s), a step of 7.25 s.
    public static let llama3_70B_GB300 = llama3_70B_GB200
        .onAnotherGPU("GB300", deviceID: "GB300-279GB", experiment: "nemo-llama3-70b-gb300.yaml", tokensPerSecondPerGPU: 4520)
        .changing { run in run.offloadedLayers = 20 }
    /// DeepSeek-V3 without its MTP module on 256 GB200 in BF16, each stage's EP group of 64
    /// inside one NVLink domain: 4,096 × 4,096 tokens, PP 4, VP 4, EP 64, GA 64, Hybrid-EP: 3,139
    /// tokens/s per GPU (782 model TFLOP/s), a step of 20.88 s. (The summary's next revision,
    /// at df0289c, labels the 25.11 GB200 and GB300 rows "DeepSeekV3 (w/o MTP)" and the B200
    /// row "w/ MTP".)
    public static let deepSeekV3_GB200 = PublishedNeMoRun(model: "DeepSeek-V3 (w/o MTP)", experiment: "nemo-deepseek-v3-gb200.yaml", precision: .bf16,
                                                          tokensPerSecondPerGPU: 3139, gpu: "GB200", deviceID: "GB200-186GB", gpus: 256, batch: 4096, sequence: 4096,
                                                          tp: 1, pp: 4, cp: 1, virtualStages: 4, ep: 64, dispatcher: .hybridep, hidden: 7168, layers: 61, heads: 128, mtpDepth: 0)
    /// DeepSeek-V3 on 256 GB300 in BF16: 4,096 × 4,096 tokens, PP 2, VP 4, EP 32, GA 32,
    /// Hybrid-EP: 3,848 tokens/s per GPU (961 model TFLOP/s), a step of 17.03 s.
    public static let deepSeekV3_GB300 = deepSeekV3_GB200
        .onAnotherGPU("GB300", deviceID: "GB300-279GB", experiment: "nemo-deepseek-v3-gb300.yaml", tokensPerSecondPerGPU: 3848)
        .changing { run in (run.pp, run.ep) = (2, 32) }
    /// Qwen3-235B-A22B on 256 GB200 in BF16, each EP group of 32 inside one NVLink domain: 8,192
    /// × 4,096 tokens, PP 8, VP 3, EP 32, GA 256, Hybrid-EP: 4,916 tokens/s per GPU (728 model
    /// TFLOP/s), a step of 26.66 s.
    public static let qwen3_235B_GB200 = PublishedNeMoRun(model: "Qwen3-235B-A22B", experiment: "nemo-qwen3-235b-gb200.yaml", precision: .bf16,
                                                          tokensPerSecondPerGPU: 4916, gpu: "GB200", deviceID: "GB200-186GB", gpus: 256, batch: 8192, sequence: 4096,
                                                          tp: 1, pp: 8, cp: 1, virtualStages: 3, ep: 32, dispatcher: .hybridep, hidden: 4096, layers: 94, heads: 64)
    /// Qwen3-235B-A22B on 256 GB300 in BF16: 8,192 × 4,096 tokens in micro-batches of 2
    /// sequences, PP 4, VP 12, EP 16, Hybrid-EP: 6,131 tokens/s per GPU (907 model TFLOP/s), a
    /// step of 21.38 s. (The table's GA of 32 makes 4,096 sequences with DP 64 and MBS 2, not its
    /// GBS; the GBS is taken, as the recipe's presets give it.)
    public static let qwen3_235B_GB300 = qwen3_235B_GB200
        .onAnotherGPU("GB300", deviceID: "GB300-279GB", experiment: "nemo-qwen3-235b-gb300.yaml", tokensPerSecondPerGPU: 6131)
        .changing { run in (run.pp, run.virtualStages, run.ep, run.microbatchSequences) = (4, 12, 16, 2) }
    /// Llama 3 8B on 8 B200, GB200 and GB300 with MXFP8 (the FP8-MX figures in parentheses in
    /// the tables): 29,521, 29,789 and 36,108 tokens/s per GPU, steps of 4.44, 4.40 and 3.63 s,
    /// 1.037, 1.058 and 1.040 times the FP8-CS steps. Llama 3.1 405B on 128 B200: 624, a step of
    /// 6.56 s, 1.059 times FP8-CS's.
    public static let llama3_8B_B200_MX = llama3_8B_B200.withMXFP8(experiment: "nemo-llama3-8b-b200-mxfp8.yaml", tokensPerSecondPerGPU: 29521)
    public static let llama3_8B_GB200_MX = llama3_8B_GB200.withMXFP8(experiment: "nemo-llama3-8b-gb200-mxfp8.yaml", tokensPerSecondPerGPU: 29789)
    public static let llama3_8B_GB300_MX = llama3_8B_GB300.withMXFP8(experiment: "nemo-llama3-8b-gb300-mxfp8.yaml", tokensPerSecondPerGPU: 36108)
    public static let llama31_405B_B200_MX = llama31_405B_B200.withMXFP8(experiment: "nemo-llama31-405b-b200-mxfp8.yaml", tokensPerSecondPerGPU: 624)
    /// DeepSeek-V3 with MXFP8: on 256 GB300 on the BF16 row's plan (PP 2 × 4, EP 32), 4,357
    /// tokens/s per GPU (1,088 model TFLOP/s), a step of 15.04 s; on 256 GB200, PP 8 × 4, EP 32,
    /// GA 128, 4,018 (1,003), 16.31 s; on 256 B200 (32 DGX B200), GBS 2,048, PP 16 (1F1B), EP 8,
    /// GA 128, 2,139 (557), 15.32 s.
    public static let deepSeekV3_GB300_MX = deepSeekV3_GB300.withMXFP8(experiment: "nemo-deepseek-v3-gb300-mxfp8.yaml", tokensPerSecondPerGPU: 4357)
    public static let deepSeekV3_GB200_MX = deepSeekV3_GB200
        .withMXFP8(experiment: "nemo-deepseek-v3-gb200-mxfp8.yaml", tokensPerSecondPerGPU: 4018)
        .changing { run in (run.pp, run.ep) = (8, 32) }
    public static let deepSeekV3_B200_MX = deepSeekV3_GB200
        .onAnotherGPU("B200", deviceID: "B200-SXM-180GB", experiment: "nemo-deepseek-v3-b200-mxfp8.yaml", tokensPerSecondPerGPU: 2139)
        .changing { run in
            (run.model, run.mtpDepth) = ("DeepSeek-V3 (w/ MTP)", 1)
            run.precision = .mxFP8
            (run.batch, run.pp, run.virtualStages, run.ep) = (2048, 16, 1, 8)
        }
    /// Llama 3 70B on 64 GB300 with MXFP8 (Megatron-Bridge's summary at df0289c, "26.02 NeMo
    /// Container", DGX-GB300 table): 256 × 8,192 tokens, PP 4, VP 5, DDP, GA 16: 4,596 tokens/s
    /// per GPU (2,064 model TFLOP/s), a step of 7.13 s. On 64 GB200 with TP 2, GA 32: 3,887
    /// (1,746), 8.43 s. Llama 3.1 405B on 256 GB200: 1,536 × 8,192 tokens, TP 4, PP 16, VP 8, GA
    /// 384: 786 (1,983), 62.53 s.
    public static let llama3_70B_GB300_MX = PublishedNeMoRun(model: "Llama 3 70B", experiment: "nemo-llama3-70b-gb300-mxfp8.yaml", source: "Megatron-Bridge 26.02",
                                                             precision: .mxFP8, tokensPerSecondPerGPU: 4596, gpu: "GB300", deviceID: "GB300-279GB",
                                                             gpus: 64, batch: 256, sequence: 8192, tp: 1, pp: 4, cp: 1, virtualStages: 5, hidden: 8192, layers: 80, heads: 64)
    public static let llama3_70B_GB200_MX = llama3_70B_GB300_MX
        .onAnotherGPU("GB200", deviceID: "GB200-186GB", experiment: "nemo-llama3-70b-gb200-mxfp8.yaml", tokensPerSecondPerGPU: 3887)
        .changing { run in run.tp = 2 }
    public static let llama31_405B_GB200_MX = PublishedNeMoRun(model: "Llama 3.1 405B", experiment: "nemo-llama31-405b-gb200-mxfp8.yaml", source: "Megatron-Bridge 26.02",
                                                               precision: .mxFP8, tokensPerSecondPerGPU: 786, gpu: "GB200", deviceID: "GB200-186GB",
                                                               gpus: 256, batch: 1536, sequence: 8192, tp: 4, pp: 16, cp: 1, virtualStages: 8, hidden: 16384, layers: 126, heads: 128)
    /// Llama 3.1 405B on 256 GB300 with MXFP8: TP 2, PP 8, VP 4, CP 2, GA 192: 931 tokens/s per
    /// GPU (2,349 model TFLOP/s), a step of 52.79 s.
    public static let llama31_405B_GB300_MX = llama31_405B_GB200_MX
        .onAnotherGPU("GB300", deviceID: "GB300-279GB", experiment: "nemo-llama31-405b-gb300-mxfp8.yaml", tokensPerSecondPerGPU: 931)
        .changing { run in (run.tp, run.pp, run.cp, run.virtualStages) = (2, 8, 2, 4) }
    /// The NVFP4 rows of the same 26.02 tables, each on its FP8-MX row's plan: Llama 3 70B on 64
    /// GB300 6,798 tokens/s per GPU (3,056 model TFLOP/s), a step of 4.82 s, 1.479 times FP8-MX's
    /// throughput; on 64 GB200 5,041 (2,264), 6.50 s, 1.297 times; Llama 3.1 405B on 256 GB200
    /// 1,145 (2,891), 42.93 s, 1.457 times.
    public static let llama3_70B_GB300_NVFP4 = llama3_70B_GB300_MX.withNVFP4(experiment: "nemo-llama3-70b-gb300-nvfp4.yaml", tokensPerSecondPerGPU: 6798)
    public static let llama3_70B_GB200_NVFP4 = llama3_70B_GB200_MX.withNVFP4(experiment: "nemo-llama3-70b-gb200-nvfp4.yaml", tokensPerSecondPerGPU: 5041)
    public static let llama31_405B_GB200_NVFP4 = llama31_405B_GB200_MX.withNVFP4(experiment: "nemo-llama31-405b-gb200-nvfp4.yaml", tokensPerSecondPerGPU: 1145)
    /// Llama 3.1 405B on 256 GB300 in NVFP4, on a plan of its own (TP 4, PP 8, VP 4, no CP, GA
    /// 192): 1,347 tokens/s per GPU (3,401 model TFLOP/s), a step of 36.49 s.
    public static let llama31_405B_GB300_NVFP4 = llama31_405B_GB300_MX
        .withNVFP4(experiment: "nemo-llama31-405b-gb300-nvfp4.yaml", tokensPerSecondPerGPU: 1347)
        .changing { run in (run.tp, run.cp) = (4, 1) }

    /// The FP8-MX rows (`fp8-mx`): Transformer Engine's MXFP8 on Blackwell (25.11, then 26.02).
    public static let microscaling = [llama3_8B_B200_MX, llama3_8B_GB200_MX, llama3_8B_GB300_MX, llama31_405B_B200_MX,
                                      deepSeekV3_GB300_MX, deepSeekV3_GB200_MX, deepSeekV3_B200_MX,
                                      llama3_70B_GB300_MX, llama3_70B_GB200_MX, llama31_405B_GB200_MX, llama31_405B_GB300_MX]
    /// The NVFP4 rows (`nvfp4`): Transformer Engine's NVFP4 on Blackwell, the first three beside
    /// their FP8-MX rows on the same plan (`fp4Pairs`).
    public static let fp4 = [llama3_70B_GB300_NVFP4, llama3_70B_GB200_NVFP4, llama31_405B_GB200_NVFP4, llama31_405B_GB300_NVFP4]
    /// Each NVFP4 row and the FP8-MX row of the same plan.
    public static let fp4Pairs = [(llama3_70B_GB300_MX, llama3_70B_GB300_NVFP4), (llama3_70B_GB200_MX, llama3_70B_GB200_NVFP4),
                                  (llama31_405B_GB200_MX, llama31_405B_GB200_NVFP4)]
    /// The Blackwell rows: the what-if from the H800 to another GPU, against a measurement.
    public static let blackwell = [llama3_8B_B200, llama3_8B_GB200, llama31_405B_B200, llama3_8B_GB300, llama3_70B_GB200, llama3_70B_GB300,
                                   deepSeekV3_GB200, deepSeekV3_GB300, qwen3_235B_GB200, qwen3_235B_GB300]
    public static let all = [llama3_8B, llama3_70B, llama31_405B, qwen3_30B_A3B] + blackwell + microscaling + fp4 + autoModel
}
