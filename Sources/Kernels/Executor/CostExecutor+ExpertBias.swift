import Hardware

extension CostExecutor {
    /// The experts' bias adds as `expertBiasKernels` runs them; nothing when fused.
    /// Per expert (AutoModel's `_apply_bias`), bytes per element of the projection's output
    /// (BF16 activations, 2 B; the routing probabilities and what they promote, FP32, 4 B):
    /// - unweighted (the up projection, BF16): forward, each expert's add reads and writes its
    ///   rows (2 + 2 B) and the concatenation copies them all (2 + 2 B); backward, the bias's
    ///   gradient reads the rows' gradient (2 B) and the split's backward concatenates them
    ///   (2 + 2 B);
    /// - weighted (the down projection, `t + b·p` with FP32 probabilities): forward, `b·p`
    ///   writes FP32 (4 B), the add reads the BF16 output and that (2 + 4 B) and writes FP32 (4
    ///   B), the concatenation copies FP32 (4 + 4 B) and the cast back reads FP32 and writes
    ///   BF16 (4 + 2 B); backward, the cast's gradient to FP32 (2 + 4 B), the output's FP32
    ///   gradient cast back to BF16 (4 + 2 B), the bias's and the probabilities' gradients each
    ///   a product written in FP32 and reduced (4 + 4 + 4 B each), and the split's concatenation
    ///   (2 + 2 B).
    /// The per-expert kernels are one record per expert (consecutive, so one operation for the
    /// host: an undercount of its launches).
    public mutating func expertBias(_ ys: [ShapeTensor], weighted: Bool) -> [ShapeTensor] {
        guard expertBiasKernels == .perExpert else { return ys }
        let name = weighted ? "experts.down.bias" : "experts.up.bias"
        let bf16 = Double(activationBytes), fp32 = Double(Precision.fp32.bytes)
        for y in ys {
            let n = Double(y.rows * y.cols)
            if weighted { record(name, .elementwise, flops: 2 * n, read: (bf16 + fp32) * n, written: 2 * fp32 * n, precision: .bf16) }
            else { record(name, .elementwise, flops: n, read: bf16 * n, written: bf16 * n, precision: .bf16) }
        }
        let n = Double(ys.reduce(0) { $0 + $1.rows * $1.cols })
        if weighted {
            record(name + ".cat", .elementwise, read: fp32 * n, written: fp32 * n, precision: .bf16)
            record(name + ".cast", .elementwise, read: fp32 * n, written: bf16 * n, precision: .bf16)
        } else {
            record(name + ".cat", .elementwise, read: bf16 * n, written: bf16 * n, precision: .bf16)
        }
        return ys.map { fresh($0.rows, $0.cols) }
    }

    public mutating func expertBiasBackward(_ dys: [ShapeTensor], weighted: Bool) -> [ShapeTensor] {
        guard expertBiasKernels == .perExpert else { return dys }
        let name = weighted ? "experts.down.bias.bwd" : "experts.up.bias.bwd"
        let bf16 = Double(activationBytes), fp32 = Double(Precision.fp32.bytes)
        let n = Double(dys.reduce(0) { $0 + $1.rows * $1.cols })
        if weighted { record(name + ".cast", .elementwise, read: bf16 * n, written: fp32 * n, precision: .bf16) }
        for dy in dys {
            let m = Double(dy.rows * dy.cols)
            if weighted {
                // The output's gradient back to BF16, then the bias's and the probabilities'
                // (each a product written in FP32, then reduced).
                record(name, .elementwise, flops: 4 * m, read: (fp32 + 2 * 2 * fp32) * m, written: (bf16 + 2 * fp32) * m, precision: .bf16)
            } else {
                record(name, .elementwise, flops: m, read: bf16 * m, written: 0, precision: .bf16)
            }
        }
        record(name + ".cat", .elementwise, read: bf16 * n, written: bf16 * n, precision: .bf16)
        return dys.map { fresh($0.rows, $0.cols) }
    }
}
