/// How an FP8 training recipe scales the inputs of its GEMMs, which decides the kernels that run
/// them, the bytes their casts write, what the MoE dispatch carries and where the recipe runs.
public enum FP8Recipe: String, Sendable, Codable, CaseIterable {
    /// DeepSeek-V3's fine-grained scaling (V3 report §3.3.2): 1×128 tiles of activations and
    /// gradients, 128×128 blocks of weights, one FP32 scale each; DeepGEMM's kernels, whose
    /// weight gradient (tiles along the token dimension) runs at the trace's own rate. Hopper
    /// and later.
    case deepSeek = "deepseek-tiles"
    /// Transformer Engine's per-tensor scaling (delayed or current, "FP8-CS" in NVIDIA's
    /// tables): one FP32 scale per tensor; every GEMM a plain FP8 GEMM. Hopper and later.
    case tensor
    /// Transformer Engine's MXFP8 ("FP8-MX"): one E8M0 scale per 32 consecutive values along
    /// the GEMM's inner dimension, applied by the tensor cores themselves; each tensor quantized
    /// row-wise and column-wise, the two copies independently (TE docs
    /// `docs/features/low_precision_training/mxfp8/mxfp8.rst` at 495739c). Blackwell only
    /// (SM 10.0, 10.3), whose block-scaled tensor cores run it at the FP8 peak.
    case mx

    /// Scale bytes a cast of `values` elements writes beside its FP8 codes: a 4-byte scale per
    /// 128 values (DeepSeek), one 4-byte scale (per tensor), a 1-byte E8M0 scale per 32 values (MX).
    public func scaleBytes(values n: Double) -> Double { self == .tensor ? 4 : n * scaleBytesPerValue }

    /// Scale bytes per value of an FP8 tensor (0 for one scale per tensor).
    public var scaleBytesPerValue: Double {
        switch self {
        case .deepSeek: 4.0 / 128
        case .tensor: 0
        case .mx: 1.0 / 32
        }
    }

    /// Whether the recipe needs block-scaled (microscaling) tensor cores, which only Blackwell
    /// has (`Device.microscalingTensorCores`).
    public var needsMicroscalingTensorCores: Bool { self == .mx }
}
