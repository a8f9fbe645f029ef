/// How the attention core (scores, softmax, weighted values) runs on the GPU.
public enum AttentionKernel: String, Sendable, Codable, CaseIterable {
    /// FlashAttention (Dao et al., 2022; FA3 on Hopper): one fused kernel per pass, tiles of
    /// the scores stay on chip, the backward recomputes them; dropout, when used, is fused.
    case flash
    /// The scores materialized in HBM, as before FlashAttention (Megatron-LM 2021, Narayanan
    /// et al. SC'21; the attention of Korthikanti et al. 2022): batched GEMMs Q·Kᵀ and P·V over
    /// all s × s pairs, a fused scale-mask-softmax kernel, and a dropout kernel on the
    /// probabilities when the model trains with attention dropout. Each of those kernels reads
    /// and writes the heads × s × s scores, so the core is bound by HBM traffic.
    case unfused
}
