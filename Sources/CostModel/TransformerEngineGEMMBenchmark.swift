import Hardware
import Kernels

/// Transformer Engine's GEMM benchmark as llmsim prices it: the twelve GEMMs of one layer of a
/// hidden-4,096, intermediate-16,384 model at M = 31 × 512 = 15,872 tokens (fprop, dgrad and
/// wgrad of the QKV, attention-output, MLP-up and MLP-down projections), each timed as one
/// `te.Linear` forward (NVIDIA/TransformerEngine `benchmarks/gemm/benchmark_gemm.py` at 8f2e635),
/// and the per-layer times NVIDIA publishes for it on an "NVIDIA B300 SXM6 AC"
/// (`docs/features/low_precision_training/gemm_profiling/gemm_profiling.rst` at ce616e1, CUDA
/// events, 10 warm-up and 100 timed iterations, `--verify-dgrad`).
///
/// Two modes: `preQuantized` (`--pre-quantize`: the inputs quantized before the timed loop, so
/// the GEMM kernels alone) and `autocast` (what a training step does: each forward quantizes
/// its input row-wise and column-wise, the column-wise copy being the weight gradient's — the
/// input needs no gradient but the weight does — and its weight row-wise).
///
/// What it checks (`llmsim validate`): the BF16 row prices the kernel model's Blackwell BF16
/// table (OpenXLA's sm_100 rows; these M = 15,872 shapes take its batch-4 rows at M = 16,384),
/// the FP8 Block row its Blackwell FP8 table (the same file's per-tensor FP8 rows), on a
/// Blackwell Ultra GPU: "FP8 Block" (cuBLAS's 1×128 / 128×128 block-scaled kernels) is priced
/// as those rows, every pass alike (Transformer Engine's weight gradient is a GEMM like the
/// others), which assumes block scaling costs nothing over per-tensor scaling on Blackwell.
/// The MXFP8 and NVFP4 rates over those rows and NVFP4's cast bandwidth over MXFP8's are
/// calibrated from this benchmark
/// (`mxfp8_gemm_rate_over_fp8_rows`, `nvfp4_gemm_rate_over_fp8_rows`,
/// `nvfp4_cast_bandwidth_over_mxfp8`), and MXFP8's cast bandwidth (`mxfp8_cast_efficiency`)
/// too, so their autocast rows check only that the figures are applied as they were derived
/// (each row names what it calibrates).
public enum TransformerEngineGEMMBenchmark {
    public enum Mode: String, Sendable { case preQuantized = "pre-quantized", autocast }

    /// One published per-layer time.
    public struct Row: Sendable {
        /// The precision's name in the document ("BF16", "FP8 Block", "MXFP8", "NVFP4").
        public var name: String
        /// The recipe that quantizes the GEMMs' inputs; nil: BF16.
        public var recipe: QuantizationRecipe?
        public var mode: Mode
        /// The document's per-layer total, seconds.
        public var seconds: Double
        /// The row sets calibration figures (only the rest of the model is checked by it).
        public var calibrates: Bool
    }

    /// The document's per-layer totals ("Per-layer total", ms): BF16 12.835 and FP8 Block 6.830
    /// with `--pre-quantize`; MXFP8 8.507 and NVFP4 6.439 in autocast. FP8 CurrentScaling
    /// (per-tensor scales, llmsim's `fp8-tensor`) in autocast is published only as a speedup
    /// over BF16, 1.39× (`docs/features/low_precision_training/speedups.rst` at 8f2e635, the
    /// same model on a B300, from a run whose MXFP8 speedup reads 1.42× against this
    /// document's 1.44×): 12.227 / 1.39 ms over the document's BF16 autocast time, good to a
    /// few per cent.
    public static let rows = [
        Row(name: "BF16", recipe: nil, mode: .preQuantized, seconds: 12.835e-3, calibrates: false),
        Row(name: "FP8 Block", recipe: .tensor, mode: .preQuantized, seconds: 6.830e-3, calibrates: false),
        Row(name: "FP8 CurrentScaling", recipe: .tensor, mode: .autocast, seconds: 12.227e-3 / 1.39, calibrates: false),
        Row(name: "MXFP8", recipe: .mx, mode: .autocast, seconds: 8.507e-3, calibrates: true),
        Row(name: "NVFP4", recipe: .nvfp4, mode: .autocast, seconds: 6.439e-3, calibrates: true),
    ]

    /// The catalog device of the benchmark's GPU.
    public static let deviceID = "B300-SXM-268GB"

    static let tokens = 31 * 512, hidden = 4096, intermediate = 16_384

    /// The twelve (M, K, N) shapes, each run as a forward of an M × K input through a K × N
    /// weight: fprop, dgrad (K and N swapped), wgrad (the token dimension contracted).
    public static var shapes: [(m: Int, k: Int, n: Int)] {
        let linears = [(hidden, 3 * hidden), (hidden, hidden), (hidden, intermediate), (intermediate, hidden)]
        return linears.map { (tokens, $0.0, $0.1) } + linears.map { (tokens, $0.1, $0.0) } + linears.map { ($0.0, tokens, $0.1) }
    }

    /// The operations of one layer's twelve benchmarked forwards, as the cost executor records
    /// them (the GEMM, and in autocast the casts).
    public static func records(recipe: QuantizationRecipe?, mode: Mode) -> [OperationRecord] {
        var executor = CostExecutor(traffic: .local(expertRows: []))
        if let recipe { executor.quantization = recipe }
        for (i, s) in shapes.enumerated() {
            let input = ShapeTensor(rows: s.m, cols: s.k, id: 2 * i), weight = ShapeTensor(rows: s.n, cols: s.k, id: 2 * i + 1)
            if recipe != nil, mode == .autocast { executor.quantize(weight, transposed: false) }
            _ = executor.linear(Weight("gemm\(i)", s.k, s.n, precision: recipe?.format ?? .bf16), input)
            // The column-wise copy of the input (MXFP8 made it with the row-wise one).
            if recipe != nil, mode == .autocast { executor.quantize(input, transposed: true) }
        }
        return executor.records.filter { mode == .autocast || $0.kind != OperationKind.cast }
    }

    /// Seconds llmsim prices the row's twelve forwards at on `model` (every SM).
    public static func seconds(_ row: Row, on model: KernelCostModel) -> Double {
        records(recipe: row.recipe, mode: row.mode).reduce(0) { $0 + model.duration($1) }
    }
}
