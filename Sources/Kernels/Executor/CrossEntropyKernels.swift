import Hardware

/// How a framework computes the loss over the logits (`llmsim` key `cross_entropy`).
///
/// - `fused`: one kernel reads the logits and writes their gradient in place (Transformer
///   Engine's `parallel_cross_entropy`, which Megatron-Core runs with `cross_entropy_loss_fusion`
///   and `cross_entropy_fusion_impl: te`; Liger's fused loss; assumed for DeepSeek's training):
///   nothing is written but the gradient. Megatron-Core's own vocabulary-parallel loss
///   (`tensor_parallel/cross_entropy.py`, and its `native` fusion) upcasts the logits to FP32
///   and keeps the FP32 softmax for the backward: not one of these modes.
/// - `eager`: PyTorch's `F.cross_entropy` on the logits in their own format (BF16), as NeMo
///   AutoModel's `MaskedCrossEntropy` with `fp32_upcast: false` runs it (its benchmark configs
///   set it): forward `log_softmax` (reads the logits, writes its output, kept for the backward)
///   and `nll_loss` (one value per row); backward `nll_loss_backward` (a zero-filled gradient of
///   the logits' size, one value per row set) and `log_softmax_backward` (reads that gradient
///   and the kept output, writes the logits' gradient).
/// - `eagerFP32`: the same after `logits.float()` (AutoModel's default `fp32_upcast: true`,
///   Hugging Face transformers' `ForCausalLMLoss`): the cast to FP32 and its backward cast to
///   BF16 around kernels that now read and write FP32.
///
/// `CostExecutor.crossEntropy` counts the bytes; the model's numeric loss is the same in all
/// three.
public enum CrossEntropyKernels: String, Sendable, Equatable, CaseIterable {
    case fused
    case eager
    case eagerFP32 = "eager-fp32"
}

extension CrossEntropyKernels {
    /// Bytes per logit the loss keeps from its forward to its backward, the logits stored in
    /// `format` bytes (BF16: 2).
    /// - `fused`: one buffer of the logits' size, which the kernel overwrites with their
    ///   gradient in the forward (Transformer Engine's `parallel_cross_entropy`, Liger's loss).
    /// - `eager`: the logits, which the model's output still references (the training loop
    ///   holds it until the backward: PyTorch autograd frees a tensor only when nothing refers to
    ///   it), and `log_softmax`'s output, saved for its backward: 2 × `format`.
    /// - `eagerFP32`: the logits and the FP32 `log_softmax` output; the FP32 copy of the logits is
    ///   freed when the loss returns (`log_softmax` saves its output, not its input): `format` + 4.
    public func keptBytesPerLogit(format: Int) -> Int {
        switch self {
        case .fused: format
        case .eager: 2 * format
        case .eagerFP32: format + Precision.fp32.bytes
        }
    }

    /// Bytes per logit at the loss's peak, the start of its backward: what it keeps, plus, eager,
    /// `nll_loss_backward`'s zero-filled gradient and `log_softmax_backward`'s output, both at the
    /// loss's width (both alive while `log_softmax_backward` runs): fused `format`, eager
    /// 4 × `format`, eager-fp32 `format` + 12. (The forward's peak is lower: eager 2 × `format`,
    /// eager-fp32 `format` + 8 with the FP32 copy.)
    public func peakBytesPerLogit(format: Int) -> Int {
        switch self {
        case .fused: format
        case .eager: 4 * format
        case .eagerFP32: format + 3 * Precision.fp32.bytes
        }
    }
}
