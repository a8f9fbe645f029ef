import Hardware
import Kernels

/// The precisions DeepSeek-V3 trains in (report §3.3.1, §1.7 of the reference): FP8 for the
/// Linears of attention and FFN in all three GEMMs; BF16 for embedding, output head and core
/// attention and the MoE gate's GEMM (DeepSeek's training trace runs the router's fprop, dgrad
/// and wgrad as cuBLAS BF16 tensor-core kernels; the report allows "BF16 or FP32").
public struct PrecisionPolicy: Sendable, Codable, Hashable {
    public var linear: Precision
    public var head: Precision
    public var gate: Precision
    /// How the low-precision GEMM inputs are quantized (`QuantizationRecipe`): DeepSeek's tiles
    /// (1×128 activations, 128×128 weights; V3 report §3.3.2), one scale per tensor (Transformer
    /// Engine's FP8-CS, as NeMo and Megatron-LM train on Hopper), MXFP8's 1×32 blocks or NVFP4's
    /// 1×16 (Transformer Engine on Blackwell); `linear` is its format. It decides how the weight-gradient GEMM runs: with tiles along the token
    /// dimension it needs DeepSeek's own kernels (the trace's wgrad rate); per tensor it is a
    /// plain FP8 GEMM, with MX blocks a block-scaled one.
    public var quantization: QuantizationRecipe
    /// Decoder layers that keep their Linears in BF16 under a quantized recipe: the first
    /// `bf16LayersAtStart` and the last `bf16LayersAtEnd` of the model's layers (Megatron-Core's
    /// `first_last_layers_bf16` with `num_layers_at_start_in_bf16` / `num_layers_at_end_in_bf16`,
    /// `fp8_utils.is_first_last_bf16_layer`: by global layer number, whatever the pipeline; the
    /// MTP modules keep the recipe). 0 and 0: every layer in the recipe.
    public var bf16LayersAtStart = 0, bf16LayersAtEnd = 0

    public init(linear: Precision, head: Precision = .bf16, gate: Precision = .bf16, quantization: QuantizationRecipe = .deepSeek) {
        self.linear = linear; self.head = head; self.gate = gate; self.quantization = quantization
    }

    /// The policy layer `index` of a model of `layers` layers trains in: BF16 Linears for the
    /// pinned first and last layers, this policy elsewhere.
    public func layer(_ index: Int, of layers: Int) -> PrecisionPolicy {
        guard linear.isQuantized, index < bf16LayersAtStart || index >= layers - bf16LayersAtEnd else { return self }
        var p = self
        (p.linear, p.bf16LayersAtStart, p.bf16LayersAtEnd) = (.bf16, 0, 0)
        return p
    }

    /// How the MoE dispatch carries tokens: FP8 where the recipe quantizes activations in
    /// DeepSeek's 1×128 tiles before the dispatch (V3 report §3.3.3), BF16 otherwise (BF16
    /// training; Transformer Engine's per-tensor and MX recipes, which quantize inside the
    /// expert GEMMs' modules after the dispatch).
    public var dispatchFormat: DispatchFormat {
        linear == .fp8 && quantization == .deepSeek ? .fp8 : .bf16
    }

    /// Bytes per value a sequence-parallel all-gather into a Linear moves: Transformer
    /// Engine's quantized copy (`QuantizationRecipe.bytesPerValue`: FP8 1 B, MXFP8 1 + 1/32,
    /// NVFP4 1/2 + 1/16), which TE gathers instead of the BF16 tensor; BF16 otherwise (BF16
    /// Linears, and DeepSeek's tiles, whose recipe trained without TP).
    public var gatheredActivationBytes: Double {
        linear.isQuantized && quantization != .deepSeek ? quantization.bytesPerValue : Precision.bf16.bytes
    }

    public static let deepSeekFP8 = PrecisionPolicy(linear: .fp8)
    /// Transformer Engine's FP8 (delayed or current per-tensor scaling): every Linear's three
    /// GEMMs in FP8 with one scale per tensor; embedding, head, core attention in BF16.
    public static let tensorScaledFP8 = PrecisionPolicy(linear: .fp8, quantization: .tensor)
    /// Transformer Engine's MXFP8 (Blackwell): every Linear's three GEMMs in FP8 with an E8M0
    /// scale per 32 values along the inner dimension; embedding, head, core attention in BF16.
    public static let mxFP8 = PrecisionPolicy(linear: .fp8, quantization: .mx)
    /// Transformer Engine's NVFP4 (Blackwell): every Linear's three GEMMs in FP4 (E2M1) with an
    /// E4M3 scale per 16 values and an FP32 scale per tensor; embedding, head, core attention
    /// in BF16, as Megatron-Bridge's `bf16_with_nvfp4_mixed` trains (no layer kept in BF16:
    /// its `first_last_layers_bf16` stays off).
    public static let nvfp4 = PrecisionPolicy(linear: .fp4, quantization: .nvfp4)
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
