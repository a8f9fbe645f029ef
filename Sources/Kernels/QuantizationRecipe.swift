import Hardware

/// How a low-precision training recipe quantizes the inputs of its GEMMs: the format it casts
/// them to, the scales it keeps beside them, and so the kernels that run them, the bytes their
/// casts read and write, what the MoE dispatch carries and where the recipe runs.
public enum QuantizationRecipe: String, Sendable, Codable, CaseIterable, Hashable {
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
    /// Transformer Engine's NVFP4 (TE docs `docs/features/low_precision_training/nvfp4/nvfp4.rst`
    /// at 52e4c02; NVIDIA's "Pretraining Large Language Models with NVFP4", arXiv 2509.25149):
    /// E2M1 values, 4 bits, with an E4M3 scale per 16 consecutive values along the inner
    /// dimension (16×16 blocks for weights) and an FP32 scale per tensor, computed from the
    /// tensor's absolute maximum before it is quantized; all three GEMMs of every Linear in
    /// FP4; the weight gradient's operands rotated by a 16×16 random Hadamard transform before
    /// their column-wise quantization, gradients rounded stochastically. Blackwell only
    /// (training: SM 10.0, 10.3), on its FP4 tensor cores.
    case nvfp4

    /// The format the recipe casts a GEMM's inputs to.
    public var format: Precision { self == .nvfp4 ? .fp4 : .fp8 }

    /// Scale bytes a cast of `values` elements writes beside its codes: a 4-byte scale per 128
    /// values (DeepSeek), one 4-byte scale (per tensor), a 1-byte E8M0 scale per 32 values (MX),
    /// a 1-byte E4M3 scale per 16 values (NVFP4; its one FP32 scale per tensor is not counted).
    public func scaleBytes(values n: Double) -> Double { self == .tensor ? 4 : n * scaleBytesPerValue }

    /// Scale bytes per value of a quantized tensor (0 for one scale per tensor).
    public var scaleBytesPerValue: Double {
        switch self {
        case .deepSeek: 4.0 / 128
        case .tensor: 0
        case .mx: 1.0 / 32
        case .nvfp4: 1.0 / 16
        }
    }

    /// Bytes per value of a quantized copy of a tensor: its codes and their block scales.
    public var bytesPerValue: Double { format.bytes + scaleBytesPerValue }

    /// Passes over its BF16 input a row-wise cast makes. NVFP4's per-tensor scale needs the
    /// tensor's absolute maximum before any value is quantized, so its row-wise cast reads the
    /// input twice (Transformer Engine's NVFP4 quantizer: an amax kernel, which also gives the
    /// column-wise copy's maximum of the Hadamard-rotated tensor, then the quantization); the
    /// column-wise cast of the same tensor reads it once more. The FP8 recipes take their
    /// scales from the block they quantize (or, per tensor, from the previous step's history
    /// or a fused reduction): one pass.
    public func readPasses(transposed: Bool) -> Int { self == .nvfp4 && !transposed ? 2 : 1 }

    /// Whether a Linear's input and output gradient are quantized row-wise and column-wise by one
    /// kernel that reads them once, both copies made when the row-wise one is: Transformer
    /// Engine's MXFP8 quantizer with both usages set (`quantize_mxfp8_kernel`, templated on
    /// `ROWWISE_SCALING` and `COLWISE_SCALING`, writes both codes and scales from one read:
    /// `transformer_engine/common/cast/mxfp8/quantize_mxfp8.cuh`; the column-wise input copy is
    /// what the Linear keeps for its weight gradient). The other recipes cast each way on its own:
    /// DeepSeek's kernels (the trace's `per_token_cast` forward, `per_channel_cast_and_transpose`
    /// beside the backward), Transformer Engine's per-tensor scaling (an amax pass, then the fused
    /// cast-transpose: two reads either way) and NVFP4 (its column-wise copy rotated by the
    /// Hadamard transform in a kernel of its own).
    public var quantizesBothWaysAtOnce: Bool { self == .mx }

    /// How NVIDIA's tables name the recipe's copies: "FP8", or "NVFP4".
    public var label: String { self == .nvfp4 ? "NVFP4" : "FP8" }

    /// Whether the recipe needs block-scaled (microscaling) tensor cores, which only Blackwell
    /// has (`Device.microscalingTensorCores`).
    public var needsMicroscalingTensorCores: Bool { self == .mx || self == .nvfp4 }
}
