import Hardware

/// How the optimizer step's AdamW update runs on a GPU's shard, which sets the HBM bytes it
/// moves per parameter (`llmsim` key `optimizer.update_kernels`). Every pass is memory-bound
/// and priced at the calibration's element-wise fraction of HBM bandwidth
/// (`DataParallelOptimizer.shardPass`).
///
/// In the formulas, per parameter: g the gradient's bytes as the optimizer reads it
/// (`OptimizerStates.gradientFormat`), s one moment's, p the parameter the optimizer updates
/// (the FP32 master, or the BF16 weight itself without one), w = 2 the BF16 working weight.
///
/// - `fused`: one kernel reads the gradient, the master and the moments and writes the master,
///   the moments and the working weight (Transformer Engine's `FusedAdam` with master weights,
///   Megatron-Core's `--use-precision-aware-optimizer`): g + 2(p + 2s) + w, and without a master
///   g + 2(w + 2s); a loss scale's unscaling rides in the same kernel (`_fused_adam_`'s
///   `grad_scale`). Assumed for DeepSeek, whose framework is not public.
/// - `megatron`: Megatron-Core's distributed optimizer as its default runs it
///   (`use_precision_aware_optimizer: False`; `megatron/core/optimizer/distrib_optimizer.py`):
///   a 16-bit gradient shard is first made an FP32 main gradient (`shard_model_grad.float()`:
///   g + 4; none when the gradients are already FP32), Apex's or Transformer Engine's fused
///   Adam then updates the FP32 master (4 + 2(4 + 2s)), and `_copy_main_params_to_model_params`
///   copies the master into the BF16 weight (4 + w). It needs an FP32 master. FP16 training
///   (FP16 gradients, under a loss scale) first unscales the FP32 main gradients and checks
///   them for infinities in a pass of its own (`_unscale_main_grads_and_check_for_nan`:
///   `torch._amp_foreach_non_finite_check_and_unscale_`, 4 + 4).
/// - `foreach`: PyTorch's `torch.optim.Adam`/`AdamW` as they run by default on CUDA (neither
///   `fused` nor `foreach` given: `_default_to_fused_or_foreach` picks the multi-tensor path, and
///   FSDP2's DTensor parameters are among its supported types), one `_foreach_` kernel per step
///   of the formula over every tensor of the group (`_multi_tensor_adam` in
///   `torch/optim/adam.py`): `lerp_(m, g)` 2s + g; `mul_(v)` 2s; `addcmul_(v, g, g)` 2s + g;
///   `sqrt(v)` into a temporary 2s; `div_` and `add_(eps)` on it 2s each; `addcdiv_(p, m, √v)`
///   2p + 2s — 14s + 2g + 2p; AdamW's decoupled weight decay, when not 0, one more
///   `mul_(p)` 2p; with an FP32 master, the copy into the BF16 weight 4 + w; under FP16's loss
///   scale, `GradScaler.unscale_` first, 2g. The temporary
///   √v, s per parameter, is allocated for the whole group at once
///   (`OptimizerStates.updateTemporaryBytesPerParameter`). NeMo AutoModel's MoE benchmarks
///   run `torch.optim.Adam` with `weight_decay: 0`.
public enum OptimizerUpdateKernels: String, Sendable, Equatable, CaseIterable {
    case fused
    case megatron
    case foreach

    /// HBM bytes the update moves per parameter, for a gradient read in `gradient` bytes,
    /// moments of `moment` bytes each, an FP32 master (`master`) or none, AdamW's weight decay
    /// on (`decays`: a pass of its own to the `foreach` kernels only, the fused Adam of the
    /// other two applies it inline) and a loss scale to undo (`unscales`, FP16 training: a pass
    /// of its own to `megatron` and `foreach`, inline in `fused`).
    public func bytesPerParameter(gradient g: Int, moment s: Int, master: Bool, decays: Bool, unscales: Bool = false) -> Int {
        let w = OptimizerStates.weights.wholeBytes, fp32 = Precision.fp32.wholeBytes
        let p = master ? fp32 : w
        // The updated parameter and the moments, each read and written once.
        let adam = 2 * (p + 2 * s)
        // The BF16 working weight made from the FP32 master after the update (none without one).
        let working = master ? fp32 + w : 0
        switch self {
        case .fused:
            // The working weight is written in the same kernel, from the master in registers.
            return g + adam + (master ? w : 0)
        case .megatron:
            // The fused Adam reads the FP32 main gradient, made from a 16-bit one first.
            let mainGradient = g < fp32 ? g + fp32 : 0
            return mainGradient + (unscales ? 2 * fp32 : 0) + fp32 + adam + working
        case .foreach:
            return (unscales ? 2 * g : 0) + 14 * s + 2 * g + 2 * p + (decays ? 2 * p : 0) + working
        }
    }
}
