import Hardware
import Kernels

/// The shapes at which Bekman's maximum-achievable-matmul search found each GPU's best dense
/// matmul rate (stas00/ml-engineering `compute/accelerator/README.md`, MAMF table v2: the mean
/// of 100 `torch.mm` or `torch._scaled_mm` calls at the best M × N × K found; the rates
/// themselves are the catalog's `achievable_matmul_tflops`, with their sources). Priced at
/// their shape by llmsim's kernel model under its default `gemm_ceiling: peak`, they check how
/// a GEMM calibrated on the H800 carries to each GPU by its fraction of peak: the H100's BF16
/// row checks OpenXLA's sm_90 table (the shipped BF16 rows), the B200's and GB200's rows its
/// sm_100 tables' batched rows past their 4,096 edge (BF16 and FP8), the H100's FP8 row
/// DeepGEMM's table, the rest the carry. The H800 and A800 (the H100's and A100's dies) and H200's BF16 (the table
/// gives the H100's) are left out: the same measurement.
public enum MaximumAchievableMatmul {
    public struct Shape: Sendable {
        public var deviceID: String
        public var precision: Precision
        public var m: Int, n: Int, k: Int
    }

    /// The best shapes, M × N × K as the table prints them.
    public static let shapes = [
        Shape(deviceID: "A100-SXM4-80GB", precision: .bf16, m: 1024, n: 10_240, k: 5120),
        Shape(deviceID: "H100-SXM5-80GB", precision: .bf16, m: 2048, n: 2048, k: 13_312),
        Shape(deviceID: "H100-SXM5-80GB", precision: .fp8, m: 1024, n: 9216, k: 14_336),
        Shape(deviceID: "H200-SXM-141GB", precision: .fp8, m: 1280, n: 4096, k: 12_032),
        Shape(deviceID: "B200-SXM-180GB", precision: .bf16, m: 1792, n: 16_128, k: 3072),
        Shape(deviceID: "B200-SXM-180GB", precision: .fp8, m: 15_360, n: 4096, k: 3072),
        Shape(deviceID: "GB200-186GB", precision: .bf16, m: 4096, n: 9728, k: 2048),
        Shape(deviceID: "GB200-186GB", precision: .fp8, m: 19_456, n: 5120, k: 1536),
        Shape(deviceID: "MI300X-192GB", precision: .bf16, m: 10_240, n: 15_360, k: 8192),
    ]

    /// The shape's GEMM as the cost executor records a Linear's forward (an M × K input through
    /// a K × N weight; FP8 with one scale per tensor, as `torch._scaled_mm` takes them).
    public static func record(_ s: Shape) -> OperationRecord {
        var executor = CostExecutor(traffic: .local(expertRows: []))
        executor.quantization = .tensor
        _ = executor.linear(Weight("mamf", s.k, s.n, precision: s.precision), ShapeTensor(rows: s.m, cols: s.k, id: 0))
        return executor.records.first { $0.kind == .gemm }!
    }

    /// TFLOPS llmsim prices the shape at on `model` (every SM).
    public static func tflops(_ s: Shape, on model: KernelCostModel) -> Double {
        let r = record(s)
        return r.flops / model.duration(r) / 1e12
    }
}
