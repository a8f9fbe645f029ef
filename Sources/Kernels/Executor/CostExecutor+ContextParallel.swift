/// The memory-bound kernels around Transformer Engine's context-parallel ring
/// (`AttnFuncWithCPAndKVP2P`, transformer_engine/pytorch/attention/dot_product_attention/
/// context_parallel.py in TE 2.x; BF16, the `sbhd` layout Megatron-LM passes, so the
/// half-sequence views need no copies):
/// - forward: the local K and V concatenated into the first send buffer (`torch.cat`, read and
///   written); after the ring, the first step's partial output rescaled by its log-sum-exp into
///   the output (`flash_attn_fwd_out_correction_init`: read and written; TE 1.x zeroed an
///   accumulator and merged every step into it instead), and every later step's merged into it
///   (`flash_attn_fwd_out_correction`: the step's output and the accumulator read, the
///   accumulator written);
/// - backward: K and V copied into the send buffer; each step's query gradient copied (the
///   first) or added into the accumulator, and its key/value gradient likewise into the buffer
///   sent on.
/// On GPU r of a group of CP, step 0 (the local chunks) and the steps from earlier GPUs (i ≤ r)
/// produce a whole output (their queries are all of the GPU's); the steps from later GPUs only
/// the second half (the key/value gradients mirror it). Averaged over the group that is
/// (CP + 1)/2 whole and (CP − 1)/2 half merges per layer: llmsim prices the group's mean (the
/// GPU with the most, CP − 1, merges CP whole ones). The log-sum-exp merges (one FP64 number
/// per query and head per step) are left out: 1/head-dim of the output's.
extension CostExecutor {
    /// The merges a GPU runs per layer after the first (which initialises the output), in
    /// whole outputs, on average over its CP group: (CP + 1)/2 whole and (CP − 1)/2 half merges
    /// in all.
    var contextParallelLaterMerges: Double {
        let cp = Double(contextParallel)
        return (cp + 1) / 2 + (cp - 1) / 4 - 1
    }

    /// The forward's kernels around the ring: `outputElements` of this GPU's attention output,
    /// `keyValueElements` of its own K and V. Nothing without context parallelism.
    mutating func contextParallelMerge(outputElements o: Double, keyValueElements kv: Double) {
        guard contextParallel > 1 else { return }
        let b = Double(activationBytes), adds = contextParallelLaterMerges
        record("attention.cp_merge", .elementwise, flops: 2 * o + 3 * o * adds,
               read: b * (kv + o + 2 * o * adds), written: b * (kv + o + o * adds), precision: .bf16)
    }

    /// The backward's kernels around the ring: the first step's gradients copied, the others
    /// added, on `queryElements` of query gradient and `keyValueElements` of key/value gradient;
    /// K and V copied into the send buffer.
    mutating func contextParallelGradientMerge(queryElements q: Double, keyValueElements kv: Double) {
        guard contextParallel > 1 else { return }
        let b = Double(activationBytes), adds = contextParallelLaterMerges
        record("attention.cp_merge.bwd", .elementwise, flops: (q + kv) * adds,
               read: b * (kv + q + kv + 2 * (q + kv) * adds), written: b * (kv + q + kv + (q + kv) * adds), precision: .bf16)
    }
}
