import Hardware

extension CostExecutor {
    /// The loss and the logits' gradient as `crossEntropyKernels` computes them. Fused: one
    /// kernel, the logits read and their gradient written (in the forward). Eager (PyTorch's
    /// `F.cross_entropy`), bytes per logit at the loss's width w (the logits' 2 B, or 4 B after
    /// an FP32 upcast): forward `log_softmax` w + w (the one-value-per-row `nll_loss` left out);
    /// backward the zero-filled gradient w, `log_softmax_backward` 2w + w; with the upcast the
    /// cast 2 + 4 B before and 4 + 2 B after. The backward kernels are the input backward's.
    /// FLOPs per logit count the arithmetic (forward: maximum, difference, exponential, sum;
    /// backward: exponential, product, difference) and price nothing: the bytes set the time.
    public mutating func crossEntropy(_ logits: ShapeTensor) -> ShapeTensor {
        let n = logits.rows * logits.cols
        guard crossEntropyKernels != .fused else {
            elementwise("cross_entropy", .loss, elements: n, reads: 1, writes: 1, flopsPerElement: 5)
            return fresh(logits.rows, logits.cols)
        }
        let count = Double(n), format = Double(activationBytes)
        let upcast = crossEntropyKernels == .eagerFP32
        let width = upcast ? Double(Precision.fp32.bytes) : format
        if upcast { record("cross_entropy.upcast", .loss, read: format * count, written: width * count, precision: .bf16) }
        record("cross_entropy.log_softmax", .loss, flops: 4 * count, read: width * count, written: width * count, precision: .bf16)
        record("cross_entropy.nll.bwd", .loss, read: 0, written: width * count, precision: .bf16, pass: .backwardInput)
        record("cross_entropy.log_softmax.bwd", .loss, flops: 3 * count, read: 2 * width * count, written: width * count, precision: .bf16,
               pass: .backwardInput)
        if upcast {
            record("cross_entropy.upcast.bwd", .loss, read: width * count, written: format * count, precision: .bf16, pass: .backwardInput)
        }
        return fresh(logits.rows, logits.cols)
    }
}
