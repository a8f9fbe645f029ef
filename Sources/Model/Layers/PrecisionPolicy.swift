import Hardware
import Kernels

/// The precisions DeepSeek-V3 trains in (report §3.3.1, §1.7 of the reference): FP8 for the
/// Linears of attention and FFN in all three GEMMs; BF16 for embedding, output head and core
/// attention and the MoE gate's GEMM (DeepSeek's training trace runs the router's fprop, dgrad
/// and wgrad as cuBLAS BF16 tensor-core kernels; the report allows "BF16 or FP32").
public struct PrecisionPolicy: Sendable, Codable, Equatable {
    public var linear: Precision
    public var head: Precision
    public var gate: Precision

    public init(linear: Precision, head: Precision = .bf16, gate: Precision = .bf16) {
        self.linear = linear; self.head = head; self.gate = gate
    }

    public static let deepSeekFP8 = PrecisionPolicy(linear: .fp8)
    public static let bf16 = PrecisionPolicy(linear: .bf16)
}

/// What the backward recomputes instead of storing (activation memory vs extra compute).
public enum RecomputePolicy: String, Sendable, Codable, CaseIterable {
    /// Store every activation.
    case none
    /// DeepSeek-V3 (report §3.2.3): every RMSNorm and the MLA up-projections are recomputed.
    case deepseek
    /// Megatron "selective" (Korthikanti et al. 2022): the attention core is recomputed.
    case selective
    /// Megatron "full": the whole layer's forward is recomputed in backward.
    case full
}

extension ModelArchitecture {
    /// The recomputation a model trains with unless asked otherwise: DeepSeek's for MLA models,
    /// none for the others.
    public var defaultRecompute: RecomputePolicy {
        if case .mla = attention { return .deepseek }
        return .none
    }
}
