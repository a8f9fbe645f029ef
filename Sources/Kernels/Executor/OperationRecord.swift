import Hardware

/// What kind of kernel an operation is; the cost model prices each kind differently.
public enum OperationKind: String, Sendable, Codable, CaseIterable {
    case gemm, groupedGemm, attention, attentionBackward, norm, elementwise, cast, permute, router, embedding, loss
    /// The forward's cast of the tokens to FP8 before an FP8 dispatch (DeepSeek's kernel writes
    /// them in the format the dispatch sends; a kernel of its own, priced apart from `cast`).
    case dispatchCast
    case dispatch, combine, pipelineSend, collective

    /// Runs on the communication SMs / network rather than the compute SMs.
    public var isCommunication: Bool { self == .dispatch || self == .combine || self == .pipelineSend || self == .collective }
}

/// Which pass an operation belongs to (ZeroBubble / DualPipe split of the backward).
public enum Pass: String, Sendable, Codable, CaseIterable {
    /// Forward.
    case forward = "F"
    /// Backward for inputs (activation gradients), recomputation included.
    case backwardInput = "B"
    /// Backward for weights.
    case backwardWeight = "W"
}

/// The four compute blocks and two all-to-alls of a DeepSeek-V3 layer that DualPipe overlaps
/// (V3 report §3.2.1, Fig. 4), plus the blocks outside the layers.
public enum Block: String, Sendable, Codable, CaseIterable {
    case attention = "attn", dispatch, mlp, combine
    case embedding = "embed", head, loss
}

/// The shape of a GEMM: C (m×n) = A (m×k) · B (k×n), `groups` independent problems of that
/// shape (grouped GEMM: m is the largest group's rows; `totalRows` sums them).
public struct GEMMShape: Sendable, Codable, Equatable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var groups: Int
    public var totalRows: Int
    /// How a low-precision GEMM's inputs are quantized (`QuantizationRecipe`), which decides its kernel; DeepSeek's
    /// tiles unless the recipe says otherwise (ignored for other precisions).
    public var quantization = QuantizationRecipe.deepSeek
    /// Rows of each group's output when the groups differ (a grouped GEMM over per-expert
    /// rows); empty when every group's output has `m` rows.
    public var rowsPerGroup: [Int] = []

    /// `totalRows` defaults to `m` rows in each of the `groups`.
    public init(m: Int, n: Int, k: Int, groups: Int = 1, totalRows: Int? = nil, quantization: QuantizationRecipe = .deepSeek) {
        self.m = m; self.n = n; self.k = k; self.groups = groups; self.totalRows = totalRows ?? m * groups
        self.quantization = quantization
    }

    /// Output tiles of `tileRows` × `tileColumns` over all groups: each group's rows and
    /// columns rounded up to whole tiles, as a GEMM kernel launches them.
    public func outputTiles(tileRows: Int, tileColumns: Int) -> Int {
        func up(_ x: Int, _ t: Int) -> Int { (x + t - 1) / t }
        let rowTiles = rowsPerGroup.isEmpty ? groups * up(m, tileRows) : rowsPerGroup.reduce(0) { $0 + up($1, tileRows) }
        return rowTiles * up(n, tileColumns)
    }
}

/// One kernel launch as the cost executor records it: shapes, FLOPs and bytes, never values.
/// The cost model turns a record and a device into a duration.
public struct OperationRecord: Sendable, Codable, Equatable {
    /// Stable name, e.g. `layer3.attn.wq_a.fprop`.
    public var name: String
    public var kind: OperationKind
    public var pass: Pass
    public var block: Block
    public var layer: Int
    /// FLOPs the kernel executes (recomputation included).
    public var flops: Double
    /// FLOPs counted as model FLOPs (MFU convention: no recomputation, attention backward = 2×
    /// forward).
    public var modelFLOPs: Double
    /// HBM bytes read and written.
    public var bytesRead: Double
    public var bytesWritten: Double
    /// Format the math runs in.
    public var precision: Precision
    public var gemm: GEMMShape?
    /// Attention problem: query rows, key rows, heads, qk and v head dims, causal.
    public var attention: AttentionShape?
    /// For communication: the traffic this GPU sends, and the plan-wide maximum, bytes.
    public var traffic: Traffic?
    /// Part of a recomputation (V3 recomputes RMSNorm and MLA up-projections in backward).
    public var recompute: Bool
    /// For the router's expert choice: the top-k selections it runs.
    public var selection: Selection? = nil
    /// For the MoE's bookkeeping kernels: what they keep track of. They are priced per layer or
    /// per routed row, not by their bytes.
    public var bookkeeping: Bookkeeping? = nil
    /// For a cast: the recipe it quantizes for (its kernels' bandwidth depends on it).
    public var quantization: QuantizationRecipe? = nil

    /// The MoE's small bookkeeping kernels, which neither stream much memory nor compute
    /// much (DeepSeek's trace, `docs/checks/trace_moe_bookkeeping.py`).
    public enum Bookkeeping: Sendable, Codable, Equatable {
        /// The router's small kernels beside its GEMM and top-k selections (score bias, group
        /// sums, masks and index scatters, weight normalisation, balance statistics): a few
        /// µs each, launch-bound, so their time is per layer, whatever the token rows.
        case router
        /// The map from the tokens a GPU received to its experts' rows, built before the
        /// permute (one block per local expert scans the received rows): per routed row.
        case expertLayout(rows: Int)
    }

    /// The router's top-k over each token's scores: `rows` tokens, `scores` per token (the
    /// experts, or the expert groups), `passes` selections per token (2 under group-limited
    /// routing: the groups, then the experts of the kept groups).
    public struct Selection: Sendable, Codable, Equatable {
        public var rows: Int
        public var scores: Int
        public var passes: Int

        public init(rows: Int, scores: Int, passes: Int) { self.rows = rows; self.scores = scores; self.passes = passes }
    }

    public struct AttentionShape: Sendable, Codable, Equatable {
        public var queries: Int
        public var keys: Int
        public var heads: Int
        public var qkDim: Int
        public var vDim: Int
        public var causal: Bool
        /// Keys a query sees at most (sliding-window attention; nil: all).
        public var window: Int? = nil
    }

    /// Bytes one GPU moves in an all-to-all, by link class, for the busiest GPU of the group.
    public struct Traffic: Sendable, Codable, Equatable {
        /// Bytes sent over the scale-out network (IB) by the busiest sender.
        public var scaleOutBytes: Double
        /// Bytes sent over NVLink (direct and forwarded) by the busiest sender.
        public var scaleUpBytes: Double
        /// Logical bytes delivered per GPU (DeepEP's bandwidth convention), mean over the group.
        public var logicalBytes: Double
        /// GPUs in the group.
        public var groupSize: Int
    }
}
