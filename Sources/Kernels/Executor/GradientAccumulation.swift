/// How each micro-batch's weight gradient joins the gradient the step accumulates over its
/// micro-batches (`llmsim` key `optimizer.gradient_accumulation`).
///
/// - `fused`: inside the weight-gradient GEMM, which adds its product into the accumulated
///   gradient (Megatron-LM's `gradient_accumulation_fusion`: the wgrad GEMM accumulates into the
///   FP32 `main_grad`; assumed for DeepSeek's training): no kernel of its own.
/// - `unfused`: a kernel of its own after each weight gradient, as PyTorch runs it: autograd's
///   `AccumulateGrad` adds a new gradient into `param.grad` (`grad += new`, in the parameter's
///   format; the first micro-batch's gradient becomes `param.grad` as it is), and FSDP2, whose
///   reduction waits for the step's last micro-batch (`set_requires_gradient_sync(False)`),
///   casts each layer's first gradient to its reduce format and then adds every later one into
///   that unsharded accumulator (`FSDPParam.to_accumulated_grad_if_needed` and
///   `accumulate_unsharded_grad_if_needed` in `torch/distributed/fsdp/_fully_shard/_fsdp_param.py`).
public enum GradientAccumulation: String, Sendable, Equatable, CaseIterable {
    case fused
    case unfused

    /// HBM bytes per value of adding a gradient made in `fresh` bytes into an accumulator kept
    /// in `accumulated` bytes: both read, the accumulator written.
    public static func addBytes(fresh: Int, accumulated: Int) -> Int { fresh + 2 * accumulated }

    /// HBM bytes per parameter per micro-batch, averaged over a step of `microbatches`, to add
    /// a gradient that no GEMM makes (the embedding table's, `CostExecutor.embedBackward`):
    /// under `fused` the GEMM's fusion cannot reach it, and Megatron-LM's backward hook adds it
    /// into the accumulated gradient every micro-batch (`param.main_grad.add_(param.grad)` in
    /// `megatron/core/distributed/distributed_data_parallel.py`: `addBytes`); under `unfused`,
    /// PyTorch accumulates it as every other gradient.
    public func bytesPerParameterOutsideGEMMs(fresh: Int, accumulated: Int, microbatches: Int) -> Double {
        switch self {
        case .fused: Double(Self.addBytes(fresh: fresh, accumulated: accumulated))
        case .unfused: Self.unfusedBytesPerParameter(fresh: fresh, accumulated: accumulated, microbatches: microbatches)
        }
    }

    /// HBM bytes per parameter per micro-batch of the unfused accumulation, averaged over a
    /// step of `microbatches`, for a gradient made in `fresh` bytes per value and accumulated
    /// in `accumulated` bytes: the first micro-batch keeps its gradient as the accumulator when
    /// the formats agree (0 B) or casts it into one (`fresh` read, `accumulated` written); each
    /// later micro-batch adds into it (`addBytes`).
    public static func unfusedBytesPerParameter(fresh: Int, accumulated: Int, microbatches: Int) -> Double {
        guard microbatches > 0 else { return 0 }
        let first = fresh == accumulated ? 0 : fresh + accumulated
        let later = addBytes(fresh: fresh, accumulated: accumulated)
        return Double(first + (microbatches - 1) * later) / Double(microbatches)
    }
}
