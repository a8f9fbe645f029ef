/// Numeric formats a kernel can run in. Peak rates are per format; a device without a format
/// (FP8 on Ampere, FP4 before Blackwell) runs such GEMMs at its `fallback` format's rate.
public enum Precision: String, CaseIterable, Codable, Sendable, Comparable {
    case fp4, fp8, bf16, fp16, tf32, fp32, fp64

    /// Bits per element: FP4 (E2M1) 4, FP8 8, BF16/FP16 16, TF32 and FP32 32 (TF32 is stored as
    /// FP32), FP64 64.
    public var bits: Int {
        switch self {
        case .fp4: return 4
        case .fp8: return 8
        case .bf16, .fp16: return 16
        case .tf32, .fp32: return 32
        case .fp64: return 64
        }
    }

    /// Bytes per element (FP4 = 0.5, FP8 = 1, BF16/FP16 = 2, TF32 and FP32 = 4, FP64 = 8).
    public var bytes: Double { Double(bits) / 8 }

    /// Bytes per element of a format of whole bytes, for the integer arithmetic of storage
    /// formats (weights, gradients, optimizer states, logits: never FP4, which packs two values
    /// into a byte and traps here).
    public var wholeBytes: Int {
        precondition(bits % 8 == 0, "\(rawValue) is not a whole number of bytes")
        return bits / 8
    }

    /// A format narrower than 16 bits, into which a Linear casts (scales and rounds) the
    /// operands of its GEMMs before it runs them: FP8 and FP4.
    public var isQuantized: Bool { bits < 16 }

    /// The next wider format, used when a device lacks this one (FP8 → BF16 on A100).
    public var fallback: Precision? {
        switch self {
        case .fp4: return .fp8
        case .fp8: return .bf16
        case .bf16, .fp16: return .tf32
        case .tf32: return .fp32
        case .fp32: return .fp64
        case .fp64: return nil
        }
    }

    public static func < (a: Precision, b: Precision) -> Bool { a.bits < b.bits }
}
