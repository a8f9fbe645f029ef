import Hardware

extension CostExecutor {
    /// The loss and the logits' gradient as `crossEntropyKernels` computes them: its kernels
    /// (`CrossEntropyKernels.kernels(format:)`) over the logits, each at its bytes per logit;
    /// the backward's kernels are the input backward's. FLOPs count the arithmetic and price
    /// nothing: the bytes set the time.
    public mutating func crossEntropy(_ logits: ShapeTensor) -> ShapeTensor {
        let count = Double(logits.rows * logits.cols)
        for k in crossEntropyKernels.kernels(format: activationBytes) {
            record(k.name, .loss, flops: Double(k.flops) * count, read: Double(k.read) * count, written: Double(k.written) * count,
                   precision: .bf16, pass: k.backward ? .backwardInput : nil)
        }
        return fresh(logits.rows, logits.cols)
    }
}
