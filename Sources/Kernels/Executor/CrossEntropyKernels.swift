import Hardware

/// How a framework computes the loss over the logits (`llmsim` key `cross_entropy`).
///
/// - `fused`: one kernel reads the logits and writes their gradient in place (Transformer
///   Engine's `parallel_cross_entropy`, which Megatron-Core runs with `cross_entropy_loss_fusion`
///   and `cross_entropy_fusion_impl: te`; Liger's fused loss; assumed for DeepSeek's training):
///   nothing is written but the gradient. Its online softmax reads each row twice (the row's
///   maximum and sum, then the gradient); the second read is taken to hit L2 (a row of 129,280
///   BF16 logits is 258 KB, one row per program keeps about 34 MB resident on 132 SMs, under
///   the H100's 50 MB), so 4 B of HBM per logit. Transformer Engine versions that make the
///   gradient in the backward (`cross_entropy_backward_kernel`) read the logits from HBM
///   again, 6 B, and older ones scale the gradient in the backward unless its upstream gradient
///   is exactly 1: not modelled (which version a run used is not known).
/// - `eager`: PyTorch's `F.cross_entropy` on the logits in their own format (BF16), as NeMo
///   AutoModel's `MaskedCrossEntropy` with `fp32_upcast: false` runs it (its benchmark configs
///   set it): forward `log_softmax` (reads the logits, writes its output, kept for the backward)
///   and `nll_loss` (one value per row); backward `nll_loss_backward` (a zero-filled gradient of
///   the logits' size, one value per row set) and `log_softmax_backward` (reads that gradient
///   and the kept output, writes the logits' gradient).
/// - `eagerFP32`: the same after `logits.float()` (AutoModel's default `fp32_upcast: true`,
///   Hugging Face transformers' `ForCausalLMLoss`): the cast to FP32 and its backward cast to
///   BF16 around kernels that now read and write FP32.
/// - `megatron`: Megatron's vocabulary-parallel loss as Megatron-LM runs it without
///   `--cross-entropy-loss-fusion` (its default; and Megatron-LM of 2021–22, whose GPT model
///   calls `vocab_parallel_cross_entropy(output.float(), labels)` unless
///   `--fp16-lm-cross-entropy`): `_VocabParallelCrossEntropy` in
///   `megatron/core/tensor_parallel/cross_entropy.py` casts the logits to FP32, takes the row
///   maximum, then works in place on the FP32 copy — subtracts the maximum, exponentiates, sums
///   the rows, divides by the sums — and saves the FP32 softmax for the backward, which
///   subtracts one at each target in place, scales by the loss's gradient in place and is cast
///   back to the logits' format (by autograd, or `.to(logits_dtype)`). Korthikanti et al. 2022
///   (arXiv:2205.05198, §4.3) count the same store: the loss keeps the logits in FP32, 4sbv/t
///   bytes.
/// - `megatronNative`: the same function as `cross_entropy_loss_fusion` with
///   `cross_entropy_fusion_impl: native` (Megatron-Core's default implementation of the fusion)
///   compiles it (`megatron/core/fusions/fused_cross_entropy.py`, NVIDIA/Megatron-LM at commit
///   0cb4a9c): the cast and the maximum in one kernel, the subtraction inside the in-place
///   exponential; the sum, the division and the backward as in `megatron`.
///
/// `CostExecutor.crossEntropy` records `kernels(format:)`; the model's numeric loss is the same
/// in all modes. Left out of every mode: the per-row kernels (the target's gather and scatter,
/// the logarithm, the loss itself: one value per token), and the tensor-parallel group's
/// collectives over one or two values per token (Megatron's three all-reduces, Transformer
/// Engine's all-gather), which are latency, not bandwidth.
public enum CrossEntropyKernels: String, Sendable, Equatable, CaseIterable {
    case fused
    case eager
    case eagerFP32 = "eager-fp32"
    case megatron
    case megatronNative = "megatron-native"
}

/// One kernel of the loss over the logits: what it moves and computes per logit.
public struct LossKernel: Sendable, Equatable {
    /// The kernel's name in the step's records.
    public var name: String
    /// Bytes read and written per logit.
    public var read: Int, written: Int
    /// Arithmetic per logit (priced at nothing: the bytes set the time).
    public var flops: Int
    /// Whether it runs in the backward (the input backward's), else in the forward.
    public var backward: Bool

    init(_ name: String, read: Int, written: Int, flops: Int = 0, backward: Bool = false) {
        (self.name, self.read, self.written, self.flops, self.backward) = ("cross_entropy" + name, read, written, flops, backward)
    }
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
    /// - `megatron`, `megatronNative`: the FP32 softmax (4 B), which the loss computed in place
    ///   over its FP32 copy of the logits; nothing holds the logits themselves after the
    ///   forward (the head saves its input, the loss its softmax).
    public func keptBytesPerLogit(format: Int) -> Int {
        switch self {
        case .fused: format
        case .eager: 2 * format
        case .eagerFP32: format + Precision.fp32.wholeBytes
        case .megatron, .megatronNative: Precision.fp32.wholeBytes
        }
    }

    /// Bytes per logit at the loss's peak, the start of its backward: what it keeps, plus, eager,
    /// `nll_loss_backward`'s zero-filled gradient and `log_softmax_backward`'s output, both at the
    /// loss's width (both alive while `log_softmax_backward` runs): fused `format`, eager
    /// 4 × `format`, eager-fp32 `format` + 12. (The forward's peak is lower: eager 2 × `format`,
    /// eager-fp32 `format` + 8 with the FP32 copy.) Megatron's: the FP32 gradient, made in place
    /// of the softmax, and its cast to `format` for the head's backward: 4 + `format` (the
    /// forward's peak, the logits and their FP32 copy, is the same).
    public func peakBytesPerLogit(format: Int) -> Int {
        switch self {
        case .fused: format
        case .eager: 4 * format
        case .eagerFP32: format + 3 * Precision.fp32.wholeBytes
        case .megatron, .megatronNative: Precision.fp32.wholeBytes + format
        }
    }

    /// The loss's kernels in order, the logits stored in `format` bytes, per logit; the
    /// backward's after the forward's. Fused: 4 B per logit in BF16; eager: 12; eager-fp32: 36
    /// (the cast 2 + 4, `log_softmax` 4 + 4, then 4, 8 + 4 and the cast back 4 + 2); Megatron's:
    /// 52 (forward 38: the cast 2 + 4, the maximum 4, the subtraction, the exponential and the
    /// division 4 + 4 each, the sum 4; backward 14: the scaling 4 + 4, the cast back 4 + 2); its
    /// native fusion: 40 (the cast with the maximum 2 + 4, the exponential of the difference
    /// 4 + 4, the sum 4, the division 4 + 4; the same backward). The compiled cast-and-maximum
    /// is taken as one kernel (TorchInductor fuses a reduction with the element-wise op it reads
    /// when both run over the same rows).
    public func kernels(format f: Int) -> [LossKernel] {
        let w = Precision.fp32.wholeBytes
        switch self {
        case .fused:
            return [LossKernel("", read: f, written: f, flops: 5)]
        case .eager, .eagerFP32:
            let upcast = self == .eagerFP32, width = upcast ? w : f
            return (upcast ? [LossKernel(".upcast", read: f, written: w)] : [])
                + [LossKernel(".log_softmax", read: width, written: width, flops: 4),
                   LossKernel(".nll.bwd", read: 0, written: width, backward: true),
                   LossKernel(".log_softmax.bwd", read: 2 * width, written: width, flops: 3, backward: true)]
                + (upcast ? [LossKernel(".upcast.bwd", read: width, written: f, backward: true)] : [])
        case .megatron, .megatronNative:
            let forward = self == .megatron
                ? [LossKernel(".upcast", read: f, written: w), LossKernel(".max", read: w, written: 0, flops: 1),
                   LossKernel(".subtract_max", read: w, written: w, flops: 1), LossKernel(".exp", read: w, written: w, flops: 1)]
                : [LossKernel(".upcast_max", read: f, written: w, flops: 1), LossKernel(".exp", read: w, written: w, flops: 2)]
            return forward + [LossKernel(".sum", read: w, written: 0, flops: 1), LossKernel(".normalize", read: w, written: w, flops: 1),
                              LossKernel(".scale.bwd", read: w, written: w, flops: 1, backward: true),
                              LossKernel(".upcast.bwd", read: w, written: f, backward: true)]
        }
    }
}
