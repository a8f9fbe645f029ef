/// How a framework computes the loss over the logits (`llmsim` key `cross_entropy`).
///
/// - `fused`: one kernel reads the logits and writes their gradient (Megatron-Core's fused
///   vocabulary-parallel cross-entropy, DeepSeek's training, Liger's fused loss): nothing is
///   written but the gradient.
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
