/// How a framework adds each routed expert's output biases (GPT-OSS's experts carry one after
/// the up projection and one after the down projection; transformers' `GptOssExperts`).
///
/// - `fused`: in the grouped GEMM's epilogue (Transformer Engine's `GroupedLinear` with
///   `bias=True`, cuBLAS's bias epilogue): no kernel of its own.
/// - `perExpert`: NeMo AutoModel's `GroupedExpertsDeepEP._apply_bias` (nemo_automodel/components/
///   moe/layers.py, the version its GPT-OSS benchmarks ran, 2025): the grouped GEMM's output is
///   split per local expert, each piece gets its bias in its own kernel, and the pieces are
///   concatenated and cast back. The down projection's bias is weighted by the routing
///   probabilities, which Megatron-Core's DeepEP dispatcher carries in FP32, so
///   `t + b * p` promotes to FP32 before the cast back to BF16. Autograd runs the backward
///   kernel by kernel (the cast, the FP32 gradient cast back for the BF16 GEMM output, the
///   bias's and the probabilities' gradients each a product and a reduction, and the split's
///   concatenation of the pieces' gradients). `CostExecutor.expertBias` counts the bytes.
public enum ExpertBiasKernels: String, Sendable, Equatable, CaseIterable {
    case fused
    case perExpert = "per-expert"
}
