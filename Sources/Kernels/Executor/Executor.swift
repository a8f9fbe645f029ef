/// The operations the model's layer code is written against (DESIGN.md, "one model, two
/// executors"). `NumericExecutor` computes real values on small shapes; `CostExecutor`
/// records shapes, FLOPs and bytes at full scale. The layer code (Model target) calls the same
/// methods in the same order for both, so the simulated step runs the real code path.
///
/// Context (`layer`, `block`, `pass`, `recomputing`) is set by the layer code before each
/// group of calls and labels the records.
public protocol Executor {
    associatedtype Tensor: TensorValue
    associatedtype RouteResult

    var layer: Int { get set }
    var block: Block { get set }
    var pass: Pass { get set }
    var recomputing: Bool { get set }

    // Linear layers: y = x·W (fprop), dx = dy·Wᵀ (dgrad), dW += xᵀ·dy (wgrad).
    mutating func linear(_ w: Weight, _ x: Tensor) -> Tensor
    mutating func linearDgrad(_ w: Weight, _ dy: Tensor) -> Tensor
    mutating func linearWgrad(_ w: Weight, _ x: Tensor, _ dy: Tensor)
    // The same for the local experts (one weight shape, one input per expert).
    mutating func groupedLinear(_ w: Weight, _ xs: [Tensor]) -> [Tensor]
    mutating func groupedLinearDgrad(_ w: Weight, _ dys: [Tensor]) -> [Tensor]
    mutating func groupedLinearWgrad(_ w: Weight, _ xs: [Tensor], _ dys: [Tensor])

    // Element-wise and normalisation.
    mutating func rmsNorm(_ name: String, _ x: Tensor) -> Tensor
    mutating func rmsNormBackward(_ name: String, _ x: Tensor, _ dy: Tensor) -> Tensor
    /// RMSNorm of each of `heads` column groups of x on its own (Qwen3's query and key norms
    /// over each head's `cols / heads` values).
    mutating func headRMSNorm(_ name: String, _ x: Tensor, heads: Int) -> Tensor
    mutating func headRMSNormBackward(_ name: String, _ x: Tensor, _ dy: Tensor, heads: Int) -> Tensor
    mutating func swiglu(_ x: Tensor) -> Tensor
    mutating func swigluBackward(_ x: Tensor, _ dy: Tensor) -> Tensor
    /// Rotary embedding on `ropeDim` columns at `offset` inside each of `heads` column groups of width `stride`.
    mutating func rope(_ x: Tensor, heads: Int, stride: Int, offset: Int, ropeDim: Int) -> Tensor
    mutating func add(_ a: Tensor, _ b: Tensor) -> Tensor
    /// Columns `range` of x (a view: free).
    func columns(_ x: Tensor, _ range: Range<Int>) -> Tensor
    /// Per head, the columns of `perHead` (width `a`) followed by all of `shared` (width b): the
    /// MLA key [k_nope_h, k_rope] or the column-concat when heads = 1.
    mutating func interleave(_ perHead: Tensor, width a: Int, shared: Tensor, heads: Int) -> Tensor
    /// The inverse of `interleave` for gradients: per-head part, and the shared part summed over heads.
    mutating func deinterleave(_ x: Tensor, width a: Int, sharedWidth b: Int, heads: Int) -> (perHead: Tensor, shared: Tensor)
    /// Per head, columns [offset, offset+width) of each `stride`-wide group.
    func headColumns(_ x: Tensor, heads: Int, stride: Int, offset: Int, width: Int) -> Tensor
    /// Per head, the columns of `a` (width wa) followed by those of `b` (width wb).
    mutating func mergeHeads(_ a: Tensor, width wa: Int, _ b: Tensor, width wb: Int, heads: Int) -> Tensor
    /// Column-concat of two tensors of equal rows.
    mutating func concat(_ a: Tensor, _ b: Tensor) -> Tensor

    // Attention (causal, BF16): q is T × H·d_qk; k and v are T × H_kv·d (H_kv divides H: grouped-
    // query attention shares each K/V head among H/H_kv query heads; MHA and MLA have H_kv = H).
    // `window`: each query sees at most the last `window` keys, its own included (sliding-window
    // attention); nil: all earlier keys.
    mutating func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, kvHeads: Int, window: Int?) -> Tensor
    mutating func attentionBackward(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor, heads: Int, kvHeads: Int, window: Int?) -> (dq: Tensor, dk: Tensor, dv: Tensor)

    // The recipe's cast of an activation to FP8 (or FP4) before a quantized Linear's GEMM
    // (DeepSeek's 1×128 tiles; `transposed` for the 128×1 backward layout).
    mutating func quantize(_ x: Tensor, transposed: Bool)

    /// The rows of `x` this GPU's MoE block works on under sequence parallelism (its 1/TP
    /// share of the sequence: with experts not TP-split, each GPU of a TP group routes its own
    /// tokens, as Megatron-Core does with an expert-TP size of 1), and back to the full rows of
    /// `like` for the residual stream. Free (the stream is already split); identity elsewhere.
    mutating func sequenceShard(_ x: Tensor) -> Tensor
    mutating func sequenceUnshard(_ x: Tensor, like full: Tensor) -> Tensor

    // MoE: gate scores (a GEMM in the policy's gate precision + sigmoid, then `topKPasses`
    // top-k selections per token), routing, all-to-all dispatch and combine.
    mutating func gateScores(_ w: Weight, _ x: Tensor, topKPasses: Int) -> Tensor
    mutating func route(_ scores: Tensor) -> RouteResult
    /// Casts the tokens to FP8 before they leave, when the dispatch carries FP8 (V3 report
    /// §3.3.3: the activation before the up-projections, and the gradient before the
    /// down-projections' dgrad, are quantized before the all-to-all).
    mutating func quantizeForDispatch(_ x: Tensor, _ r: RouteResult)
    /// Sends each token to the GPUs of its experts; returns the rows of each local expert.
    mutating func dispatch(_ x: Tensor, _ r: RouteResult) -> [Tensor]
    /// Sends expert outputs back and sums them per token (each row already carries its gate
    /// weight, from `weightedSwiglu`).
    mutating func combine(_ ys: [Tensor], _ r: RouteResult) -> Tensor
    /// Backward of combine: each token's gradient sent to its experts (a dispatch of gradients).
    mutating func combineBackward(_ dy: Tensor, _ r: RouteResult) -> [Tensor]
    /// Backward of dispatch: expert input gradients sent back and summed per token.
    mutating func dispatchBackward(_ dxs: [Tensor], _ r: RouteResult) -> Tensor
    /// Each local expert's SwiGLU output with every row scaled by its token's gate weight, as
    /// DeepSeek's kernels apply it (`swiglu_forward_with_weight…` in the profile trace): the down
    /// projection is linear, so weighting its input equals weighting the expert's output.
    mutating func weightedSwiglu(_ ups: [Tensor], _ r: RouteResult) -> [Tensor]
    /// Backward of `weightedSwiglu` from the gradients of its outputs: the up projections' output
    /// gradients, the gate scores' gradient (per row, ⟨dH, SwiGLU output⟩ times the weight: the
    /// weight's gradient over the intermediate width, DeepSeek's
    /// `swiglu_weight_backward_with_weight`), and the weighted output recomputed in the same
    /// pass (the down projection's weight-gradient input; DeepSeek's fused
    /// `swiglu_forward_backward_with_weight`).
    mutating func weightedSwigluBackward(_ ups: [Tensor], _ dHs: [Tensor], _ r: RouteResult) -> (hs: [Tensor], dUps: [Tensor], dScores: Tensor)

    /// Each local expert's projection output with the expert's bias added (models whose experts
    /// carry biases, GPT-OSS); `weighted`: the bias scaled by each row's gate weight, as after
    /// the down projection of a weighted SwiGLU (the weight was applied to the down
    /// projection's input).
    mutating func expertBias(_ ys: [Tensor], weighted: Bool) -> [Tensor]
    /// Backward of `expertBias`: the gradients of the projection's outputs (the same values:
    /// a bias adds a constant), the biases' gradients kept with the expert weights.
    mutating func expertBiasBackward(_ dys: [Tensor], weighted: Bool) -> [Tensor]

    // Embedding and loss.
    mutating func embed(_ tokens: Int, hidden: Int, vocabulary: Int) -> Tensor
    /// The embedding table's weight gradient (`vocabulary` rows, `dy.cols` wide) from the
    /// gradient of the rows `embed` looked up, added into the step's gradient.
    mutating func embedBackward(_ dy: Tensor, vocabulary: Int)
    mutating func crossEntropy(_ logits: Tensor) -> Tensor
}

extension Executor {
    /// No sequence split: the MoE block sees every row.
    public mutating func sequenceShard(_ x: Tensor) -> Tensor { x }
    public mutating func sequenceUnshard(_ x: Tensor, like full: Tensor) -> Tensor { x }
}

extension Executor {
    /// Attention over every earlier key (no sliding window).
    public mutating func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, kvHeads: Int) -> Tensor {
        attention(q, k, v, heads: heads, kvHeads: kvHeads, window: nil)
    }
    public mutating func attentionBackward(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor, heads: Int, kvHeads: Int) -> (dq: Tensor, dk: Tensor, dv: Tensor) {
        attentionBackward(q, k, v, dO, heads: heads, kvHeads: kvHeads, window: nil)
    }
}
