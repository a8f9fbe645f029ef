import Hardware
import Kernels

/// The precisions DeepSeek-V3 trains in (report §3.3.1, §1.7 of the reference): FP8 for the
/// Linears of attention and FFN in all three GEMMs; BF16 for embedding, output head and core
/// attention and the MoE gate's GEMM (DeepSeek's training trace runs the router's fprop, dgrad
/// and wgrad as cuBLAS BF16 tensor-core kernels; the report allows "BF16 or FP32").
public struct PrecisionPolicy: Sendable, Codable, Equatable {
    public var linear: Precision
    public var head: Precision
    public var gate: Precision
    /// How FP8 GEMM inputs are scaled (`FP8Recipe`): DeepSeek's tiles (1×128 activations,
    /// 128×128 weights; V3 report §3.3.2), one scale per tensor (Transformer Engine's FP8-CS, as
    /// NeMo and Megatron-LM train on Hopper), or MXFP8's 1×32 blocks (Transformer Engine on
    /// Blackwell). It decides how the weight-gradient GEMM runs: with tiles along the token
    /// dimension it needs DeepSeek's own kernels (the trace's wgrad rate); per tensor it is a
    /// plain FP8 GEMM, with MX blocks a block-scaled one.
    public var fp8Recipe: FP8Recipe

    public init(linear: Precision, head: Precision = .bf16, gate: Precision = .bf16, fp8Recipe: FP8Recipe = .deepSeek) {
        self.linear = linear; self.head = head; self.gate = gate; self.fp8Recipe = fp8Recipe
    }

    /// How the MoE dispatch carries tokens: FP8 where the recipe quantizes activations in
    /// DeepSeek's 1×128 tiles before the dispatch (V3 report §3.3.3), BF16 otherwise (BF16
    /// training; Transformer Engine's per-tensor and MX recipes, which quantize inside the
    /// expert GEMMs' modules after the dispatch).
    public var dispatchFormat: DispatchFormat {
        linear == .fp8 && fp8Recipe == .deepSeek ? .fp8 : .bf16
    }

    public static let deepSeekFP8 = PrecisionPolicy(linear: .fp8)
    /// Transformer Engine's FP8 (delayed or current per-tensor scaling): every Linear's three
    /// GEMMs in FP8 with one scale per tensor; embedding, head, core attention in BF16.
    public static let tensorScaledFP8 = PrecisionPolicy(linear: .fp8, fp8Recipe: .tensor)
    /// Transformer Engine's MXFP8 (Blackwell): every Linear's three GEMMs in FP8 with an E8M0
    /// scale per 32 values along the inner dimension; embedding, head, core attention in BF16.
    public static let mxFP8 = PrecisionPolicy(linear: .fp8, fp8Recipe: .mx)
    public static let bf16 = PrecisionPolicy(linear: .bf16)
}

/// What the backward recomputes instead of storing (activation memory vs extra compute).
public enum RecomputePolicy: String, Sendable, Codable, CaseIterable {
    /// Store every activation.
    case none
    /// DeepSeek-V3 (report §3.2.3): every RMSNorm and the MLA up-projections are recomputed.
    case deepseek
    /// Megatron "selective" (Korthikanti et al. 2022): the attention core is recomputed.
    case selective
    /// Megatron "full": the whole layer's forward is recomputed in backward.
    case full
}

/// A module Megatron-LM's selective recomputation reruns in the backward instead of keeping its
/// output (`--recompute-granularity selective --recompute-modules …`).
public enum RecomputeModule: String, Sendable, Codable, CaseIterable {
    /// The attention and pre-MLP RMSNorms: their outputs are not kept.
    case layernorm
    /// MLA's up-projections (with their query and key/value norms and RoPE): the normalised
    /// latents and Q, K, V are not kept, only the down-projected latents.
    case mlaUpProj = "mla_up_proj"
    /// The routed experts' SwiGLU: its output is not kept (llmsim's executor recomputes it in the
    /// backward in any case, as DeepSeek's fused kernels do).
    case moeAct = "moe_act"
    /// The attention core (Megatron's "selective" of 2022).
    case coreAttn = "core_attn"
    /// A dense layer's whole MLP: rerun from its input, nothing inside it kept.
    case mlp
    /// An MoE layer's whole MoE block — router, dispatch, experts, combine, shared experts —
    /// rerun from its input, all-to-alls included; nothing inside it kept.
    case moe
    /// An MoE layer's shared experts: their up-projection rerun, their SwiGLU input and output
    /// not kept.
    case sharedExperts = "shared_experts"
}

extension ModelArchitecture {
    /// The recomputation a model trains with unless asked otherwise: DeepSeek's for MLA models,
    /// none for the others.
    public var defaultRecompute: RecomputePolicy {
        if case .mla = attention { return .deepseek }
        return .none
    }
}
