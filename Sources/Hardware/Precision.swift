/// Numeric formats a kernel can run in. Peak rates are per format; a device without a format
/// (FP8 on Ampere) runs such GEMMs at its `fallback` format's rate.
public enum Precision: String, CaseIterable, Codable, Sendable, Comparable {
    case fp8, bf16, fp16, tf32, fp32, fp64

    /// Bytes per element (FP8 = 1, BF16/FP16 = 2, TF32 and FP32 = 4, FP64 = 8).
    public var bytes: Int {
        switch self {
        case .fp8: return 1
        case .bf16, .fp16: return 2
        case .tf32, .fp32: return 4
        case .fp64: return 8
        }
    }

    /// The next wider format, used when a device lacks this one (FP8 → BF16 on A100).
    public var fallback: Precision? {
        switch self {
        case .fp8: return .bf16
        case .bf16, .fp16: return .tf32
        case .tf32: return .fp32
        case .fp32: return .fp64
        case .fp64: return nil
        }
    }

    public static func < (a: Precision, b: Precision) -> Bool { a.bytes < b.bytes }
}
