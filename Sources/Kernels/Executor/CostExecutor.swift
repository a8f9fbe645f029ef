import Hardware

/// Records every operation the layer code asks for as an `OperationRecord` (shapes, FLOPs,
/// bytes), without computing values. Runs the full DeepSeek-V3 shapes in microseconds.
///
/// FP8 casts are recorded where DeepSeek's kernels cast (V3 report §3.3.2): a Linear in FP8
/// casts its input per 1×128 tile in forward, its output gradient in dgrad, and both operands
/// transposed (128×1) for wgrad; a tensor already cast in a layout is not cast again. A Linear
/// in FP4 (NVFP4) casts at the same places, in its recipe's bytes (`QuantizationRecipe`).
///
/// The transposed casts count in the input-backward pass (B), not in the weight pass (W), except
/// for tokens that arrived by the dispatch all-to-all: that is where DeepSeek's trace runs them
/// (`../shared/data/deepseek-profile-train.json`, kernels grouped by the annotation they were
/// launched in, µs per layer: `per_channel_cast_and_transpose` 534 in attn(B) and 394 in
/// mlp(B) beside the dgrad GEMMs, none in attn(W), and in mlp(W) only the 578 that re-lay out
/// the routed experts' FP8 inputs). Counting them all in W put ≈1 ms per V3 layer into the
/// W chunks that DualPipe runs on their own.
public struct CostExecutor: Executor {
    public typealias Tensor = ShapeTensor
    public typealias RouteResult = MoETraffic

    public var layer = 0
    public var block = Block.attention
    public var pass = Pass.forward
    public var recomputing = false
    /// Routing of the MoE layers (one for all layers; see `MoETraffic`).
    public var traffic: MoETraffic
    /// Bytes per element of activations kept between kernels (BF16).
    public var activationBytes = 2
    /// Keys each micro-batch's queries attend to, when a long sequence is split into several
    /// micro-batches that attend to the cached prefix (nil: the micro-batch is a whole sequence).
    public var attentionKeys: Int?
    /// Independent sequences the micro-batch's rows hold (Megatron's micro-batch size): each
    /// attends only to its own tokens, so the attention core runs as `sequences × heads`
    /// problems of `rows / sequences` queries.
    public var attentionSequences = 1
    /// Sequence parallelism (Korthikanti et al. 2022): the residual stream (`width` columns,
    /// the model's hidden size) is split along the sequence over `split` GPUs, so its norms
    /// run on 1/split of the rows. nil: no split.
    public var sequenceParallel: (split: Int, width: Int)?
    /// Context-parallel group size: the rows are this GPU's two chunks of each sequence (of
    /// 2·CP), and the attention core runs once over the local keys (causal) and once per
    /// key/value block received around the ring (`contextParallelCalls`).
    public var contextParallel = 1
    /// How the attention core runs (FlashAttention unless asked otherwise).
    public var attentionKernel = AttentionKernel.flash
    /// The model trains with dropout on the attention probabilities (a kernel of its own when
    /// the scores are materialized).
    public var attentionDropout = false
    /// How the experts' biases are added, for models whose experts carry them.
    public var expertBiasKernels = ExpertBiasKernels.fused
    /// How the loss over the logits runs (`CrossEntropyKernels`).
    public var crossEntropyKernels = CrossEntropyKernels.fused
    /// HBM bytes per parameter per micro-batch that adding each weight gradient into the
    /// step's accumulated gradient moves, for non-expert weights and for the routed experts'
    /// (`GradientAccumulation.unfused`); 0: fused into the weight-gradient GEMM.
    public var gradientAccumulationBytes = (dense: 0.0, expert: 0.0)
    /// How the embedding table's gradient is made (`EmbeddingGradient`), and the HBM bytes that
    /// adding it into the step's accumulated gradient moves (`OptimizerStates.embeddingGradient`):
    /// per table parameter when it is dense, per element of the looked-up rows when sparse (no
    /// GEMM makes this gradient, so no GEMM can fuse its accumulation). Default: a dense table
    /// added by Megatron-LM's hook `main_grad.add_(grad)` into an FP32 gradient, 2 + 2 × 4 B.
    public var embeddingGradient = (kind: EmbeddingGradient.dense, accumulationBytes: 10.0)
    /// How the low-precision GEMMs' inputs are quantized (`PrecisionPolicy.quantization`).
    public var quantization = QuantizationRecipe.deepSeek
    public private(set) var records: [OperationRecord] = []
    private var nextID = 0
    private var cast: Set<Int> = [], castTransposed: Set<Int> = []
    /// Tensors received by an all-to-all (held in FP8 row-wise; re-laid out by their wgrad).
    private var arrivedByAllToAll: Set<Int> = []

    public init(traffic: MoETraffic) { self.traffic = traffic }

    mutating func fresh(_ rows: Int, _ cols: Int) -> ShapeTensor {
        nextID += 1
        return ShapeTensor(rows: rows, cols: cols, id: nextID)
    }

    /// Appends one record, counted in `pass` (the current pass unless given).
    mutating func record(_ name: String, _ kind: OperationKind, flops: Double = 0, modelFLOPs: Double? = nil,
                         read: Double, written: Double, precision: Precision, gemm: GEMMShape? = nil,
                         attention: OperationRecord.AttentionShape? = nil, traffic: OperationRecord.Traffic? = nil, pass: Pass? = nil,
                         selection: OperationRecord.Selection? = nil, bookkeeping: OperationRecord.Bookkeeping? = nil,
                         quantization: QuantizationRecipe? = nil) {
        let countsAsModel = (kind == .gemm || kind == .groupedGemm || kind == .attention || kind == .attentionBackward) && !recomputing
        records.append(OperationRecord(
            name: "L\(layer).\(block.rawValue).\(name)", kind: kind, pass: pass ?? self.pass, block: block, layer: layer,
            flops: flops, modelFLOPs: countsAsModel ? (modelFLOPs ?? flops) : 0,
            bytesRead: read, bytesWritten: written, precision: precision, gemm: gemm, attention: attention,
            traffic: traffic, recompute: recomputing, selection: selection, bookkeeping: bookkeeping, quantization: quantization))
    }

    mutating func gemmRecord(_ name: String, m: Int, n: Int, k: Int, precision: Precision) {
        let e = Double(precision.bytes)
        record(name, .gemm, flops: FLOPCount.gemm(m: m, n: n, k: k),
               read: Double(m * k) * e + Double(k * n) * e, written: Double(m * n * activationBytes), precision: precision,
               gemm: GEMMShape(m: m, n: n, k: k, groups: 1, totalRows: m, quantization: quantization))
    }

    /// One BF16 GEMM per head over all query–key pairs of a materialized attention
    /// (`AttentionKernel.unfused`); its model FLOPs are the `causalShare` of them, so the model's
    /// count does not depend on the kernel.
    mutating func batchedGemm(_ name: String, m: Int, n: Int, k: Int, heads: Int, causalShare: Double, read: Double, written: Double) {
        let flops = FLOPCount.gemm(m: m, n: n, k: k) * Double(heads)
        record(name, .gemm, flops: flops, modelFLOPs: flops * causalShare, read: read, written: written, precision: .bf16,
               gemm: GEMMShape(m: m, n: n, k: k, groups: heads, totalRows: m * heads))
    }

    public mutating func quantize(_ x: ShapeTensor, transposed: Bool) { quantize(x, transposed: transposed, kind: .cast) }

    /// A Linear's input (forward) or output gradient (input backward), quantized for its GEMM:
    /// row-wise, and under MXFP8 column-wise too in the same kernel, for the weight gradient
    /// (`QuantizationRecipe.quantizesBothWaysAtOnce`).
    mutating func quantizeGEMMInput(_ x: ShapeTensor) {
        quantize(x, transposed: false, kind: .cast, bothWays: quantization.quantizesBothWaysAtOnce)
    }

    /// `bothWays` (row-wise casts only): one kernel also writes the column-wise copy.
    mutating func quantize(_ x: ShapeTensor, transposed: Bool, kind: OperationKind, bothWays: Bool = false) {
        precondition(!(bothWays && transposed), "a two-way cast is asked for row-wise")
        if transposed ? castTransposed.contains(x.id) : cast.contains(x.id) { return }
        if transposed { castTransposed.insert(x.id) } else { cast.insert(x.id) }
        let n = Double(x.rows * x.cols)
        let inB = transposed && pass == .backwardWeight && !arrivedByAllToAll.contains(x.id)
        // The recipe's codes (FP8, or FP4 two to a byte) plus its scales: a 4-byte scale per
        // 1×128 (or 128×1) tile (V3 report §3.3.2), one per tensor, an E8M0 byte per 32 values,
        // or an E4M3 byte per 16; NVFP4's row-wise cast reads its input twice (its maximum first).
        let format = quantization.format, reads = Double(quantization.readPasses(transposed: transposed))
        let copy = n * format.bytes + quantization.scaleBytes(values: n)
        // MXFP8 quantizes a Linear's input (forward) and output gradient (input backward) both
        // ways in one kernel, reading the tensor once: the weight gradient's column-wise copy
        // is made there and kept (`QuantizationRecipe.quantizesBothWaysAtOnce`).
        let both = bothWays && !castTransposed.contains(x.id)
        if both { castTransposed.insert(x.id) }
        record(kind == .dispatchCast ? "dispatch_cast" : both ? "cast_rc" : transposed ? "cast_t" : "cast", kind, read: reads * n * Double(activationBytes),
               written: both ? 2 * copy : copy, precision: format, pass: inB ? .backwardInput : nil, quantization: quantization)
    }

    public mutating func linear(_ w: Weight, _ x: ShapeTensor) -> ShapeTensor {
        if w.precision.isQuantized { quantizeGEMMInput(x) }
        gemmRecord("\(w.name).fprop", m: x.rows, n: w.output, k: w.input, precision: w.precision)
        return fresh(x.rows, w.output)
    }

    public mutating func linearDgrad(_ w: Weight, _ dy: ShapeTensor) -> ShapeTensor {
        if w.precision.isQuantized { quantizeGEMMInput(dy) }
        gemmRecord("\(w.name).dgrad", m: dy.rows, n: w.input, k: w.output, precision: w.precision)
        return fresh(dy.rows, w.input)
    }

    public mutating func linearWgrad(_ w: Weight, _ x: ShapeTensor, _ dy: ShapeTensor) {
        if w.precision.isQuantized { quantize(x, transposed: true); quantize(dy, transposed: true) }
        gemmRecord("\(w.name).wgrad", m: w.input, n: w.output, k: x.rows, precision: w.precision)
        accumulateGradient(w.name, parameters: w.input * w.output, bytesPerParameter: gradientAccumulationBytes.dense)
    }

    /// The unfused gradient accumulation after a weight gradient (`gradientAccumulationBytes`),
    /// memory-bound, half of its bytes read and half written (read fresh + accumulator, write
    /// accumulator: the split prices nothing, the sum does); one add per parameter, counted as
    /// FLOPs that price nothing either.
    mutating func accumulateGradient(_ name: String, parameters: Int, bytesPerParameter: Double) {
        guard bytesPerParameter > 0 else { return }
        let bytes = Double(parameters) * bytesPerParameter
        record("\(name).grad_accumulate", .elementwise, flops: Double(parameters), read: bytes / 2, written: bytes / 2, precision: .bf16)
    }

    mutating func groupedRecord(_ name: String, rows: [Int], n: Int, k: Int, precision: Precision, rowsAreK: Bool = false) {
        let total = rows.reduce(0, +), e = Double(precision.bytes)
        var shape = rowsAreK ? GEMMShape(m: k, n: n, k: rows.max() ?? 0, groups: rows.count, totalRows: total)
                             : GEMMShape(m: rows.max() ?? 0, n: n, k: k, groups: rows.count, totalRows: total)
        shape.quantization = quantization
        if !rowsAreK { shape.rowsPerGroup = rows }
        let read = rowsAreK ? Double(total * (k + n)) * e : Double(total * k) * e + Double(rows.count * k * n) * e
        let written = rowsAreK ? Double(rows.count * k * n * 4) : Double(total * n * activationBytes)
        record(name, .groupedGemm, flops: 2 * Double(total) * Double(n) * Double(k), read: read, written: written,
               precision: precision, gemm: shape)
    }

    public mutating func groupedLinear(_ w: Weight, _ xs: [ShapeTensor]) -> [ShapeTensor] {
        if w.precision.isQuantized { xs.forEach { quantizeGEMMInput($0) } }
        groupedRecord("\(w.name).fprop", rows: xs.map(\.rows), n: w.output, k: w.input, precision: w.precision)
        return xs.map { fresh($0.rows, w.output) }
    }

    public mutating func groupedLinearDgrad(_ w: Weight, _ dys: [ShapeTensor]) -> [ShapeTensor] {
        if w.precision.isQuantized { dys.forEach { quantizeGEMMInput($0) } }
        groupedRecord("\(w.name).dgrad", rows: dys.map(\.rows), n: w.input, k: w.output, precision: w.precision)
        return dys.map { fresh($0.rows, w.input) }
    }

    public mutating func groupedLinearWgrad(_ w: Weight, _ xs: [ShapeTensor], _ dys: [ShapeTensor]) {
        if w.precision.isQuantized { (xs + dys).forEach { quantize($0, transposed: true) } }
        groupedRecord("\(w.name).wgrad", rows: xs.map(\.rows), n: w.output, k: w.input, precision: w.precision, rowsAreK: true)
        accumulateGradient(w.name, parameters: xs.count * w.input * w.output, bytesPerParameter: gradientAccumulationBytes.expert)
    }

    mutating func elementwise(_ name: String, _ kind: OperationKind, elements: Int, reads: Int, writes: Int, flopsPerElement: Double,
                              selection: OperationRecord.Selection? = nil) -> Void {
        let n = Double(elements)
        record(name, kind, flops: n * flopsPerElement, read: n * Double(reads * activationBytes),
               written: n * Double(writes * activationBytes), precision: .bf16, selection: selection)
    }

    public mutating func rmsNorm(_ name: String, _ x: ShapeTensor) -> ShapeTensor {
        elementwise("\(name).fwd", .norm, elements: normRows(x) * x.cols, reads: 1, writes: 1, flopsPerElement: 4)
        return fresh(x.rows, x.cols)
    }

    public mutating func rmsNormBackward(_ name: String, _ x: ShapeTensor, _ dy: ShapeTensor) -> ShapeTensor {
        elementwise("\(name).bwd", .norm, elements: normRows(x) * x.cols, reads: 2, writes: 1, flopsPerElement: 8)
        return fresh(x.rows, x.cols)
    }

    /// Per-head norms read and write each value once (twice read in the backward), as the
    /// layer's norm does; they run on every row (the projections are not sequence-split).
    public mutating func headRMSNorm(_ name: String, _ x: ShapeTensor, heads: Int) -> ShapeTensor {
        elementwise("\(name).fwd", .norm, elements: x.rows * x.cols, reads: 1, writes: 1, flopsPerElement: 4)
        return fresh(x.rows, x.cols)
    }

    public mutating func headRMSNormBackward(_ name: String, _ x: ShapeTensor, _ dy: ShapeTensor, heads: Int) -> ShapeTensor {
        elementwise("\(name).bwd", .norm, elements: x.rows * x.cols, reads: 2, writes: 1, flopsPerElement: 8)
        return fresh(x.rows, x.cols)
    }

    /// A sequence-parallel GPU's share of the residual stream's rows (`normRows`), free.
    /// Without sequence parallelism the same tensor (so a cast of it is not repeated).
    public mutating func sequenceShard(_ x: ShapeTensor) -> ShapeTensor { sequenceParallel == nil ? x : fresh(normRows(x), x.cols) }
    public mutating func sequenceUnshard(_ x: ShapeTensor, like full: ShapeTensor) -> ShapeTensor { sequenceParallel == nil ? x : fresh(full.rows, x.cols) }

    /// Rows a norm of `x` runs on: a 1/split share of a sequence-parallel residual stream.
    func normRows(_ x: ShapeTensor) -> Int {
        guard let sp = sequenceParallel, x.cols == sp.width else { return x.rows }
        return (x.rows + sp.split - 1) / sp.split
    }

    public mutating func swiglu(_ x: ShapeTensor) -> ShapeTensor {
        elementwise("swiglu.fwd", .elementwise, elements: x.rows * x.cols / 2, reads: 2, writes: 1, flopsPerElement: 6)
        return fresh(x.rows, x.cols / 2)
    }

    public mutating func swigluBackward(_ x: ShapeTensor, _ dy: ShapeTensor) -> ShapeTensor {
        elementwise("swiglu.bwd", .elementwise, elements: dy.rows * dy.cols, reads: 3, writes: 2, flopsPerElement: 12)
        return fresh(x.rows, x.cols)
    }

    public mutating func rope(_ x: ShapeTensor, heads: Int, stride: Int, offset: Int, ropeDim: Int) -> ShapeTensor {
        elementwise("rope", .elementwise, elements: x.rows * heads * ropeDim, reads: 1, writes: 1, flopsPerElement: 6)
        return fresh(x.rows, x.cols)
    }

    public mutating func add(_ a: ShapeTensor, _ b: ShapeTensor) -> ShapeTensor {
        elementwise("add", .elementwise, elements: a.rows * a.cols, reads: 2, writes: 1, flopsPerElement: 1)
        return fresh(a.rows, a.cols)
    }

    public func columns(_ x: ShapeTensor, _ range: Range<Int>) -> ShapeTensor { ShapeTensor(rows: x.rows, cols: range.count, id: x.id) }

    public func headColumns(_ x: ShapeTensor, heads: Int, stride: Int, offset: Int, width: Int) -> ShapeTensor {
        ShapeTensor(rows: x.rows, cols: heads * width, id: x.id)
    }

    public mutating func interleave(_ perHead: ShapeTensor, width a: Int, shared: ShapeTensor, heads: Int) -> ShapeTensor {
        elementwise("interleave", .elementwise, elements: perHead.rows * (perHead.cols + heads * shared.cols), reads: 1, writes: 1, flopsPerElement: 0)
        return fresh(perHead.rows, perHead.cols + heads * shared.cols)
    }

    public mutating func deinterleave(_ x: ShapeTensor, width a: Int, sharedWidth b: Int, heads: Int) -> (perHead: ShapeTensor, shared: ShapeTensor) {
        elementwise("deinterleave", .elementwise, elements: x.rows * x.cols, reads: 1, writes: 1, flopsPerElement: 0)
        return (fresh(x.rows, heads * a), fresh(x.rows, b))
    }

    public mutating func mergeHeads(_ a: ShapeTensor, width wa: Int, _ b: ShapeTensor, width wb: Int, heads: Int) -> ShapeTensor {
        elementwise("merge_heads", .elementwise, elements: a.rows * (a.cols + b.cols), reads: 1, writes: 1, flopsPerElement: 0)
        return fresh(a.rows, a.cols + b.cols)
    }

    public mutating func concat(_ a: ShapeTensor, _ b: ShapeTensor) -> ShapeTensor { fresh(a.rows, a.cols + b.cols) }

    public mutating func attention(_ q: ShapeTensor, _ k: ShapeTensor, _ v: ShapeTensor, heads: Int, kvHeads: Int, window: Int?) -> ShapeTensor {
        let qk = q.cols / heads, vd = v.cols / kvHeads, n = attentionSequences
        // Per sequence: t queries over `keys` keys; the micro-batch runs n × heads of them.
        let t = q.rows / n, keys = attentionKeys ?? k.rows / n, problems = heads * n
        let bytes = Double(activationBytes)
        let queries = Double(q.rows * q.cols) * bytes, keyBytes = Double(n * keys * k.cols) * bytes, values = Double(n * keys * v.cols) * bytes
        let out = Double(q.rows * heads * vd) * bytes
        guard attentionKernel == .unfused else {
            for call in contextParallelCalls(queries: t, keys: keys) {
                let share = Double(call.keys) / Double(keys)
                record("attention.fwd" + call.suffix, .attention,
                       flops: FLOPCount.attentionForward(tokens: call.queries, keys: call.keys, heads: problems, qk: qk, v: vd, causal: call.causal, window: window),
                       read: queries + share * (keyBytes + values), written: out, precision: .bf16,
                       attention: .init(queries: call.queries, keys: call.keys, heads: problems, qkDim: qk, vDim: vd, causal: call.causal, window: window))
            }
            contextParallelMerge(outputElements: Double(q.rows * heads * vd), keyValueElements: Double(k.rows * (k.cols + v.cols)))
            return fresh(q.rows, heads * vd)
        }
        // Materialized scores: every (query, key) pair is computed, the causal (and window) mask
        // is applied by the softmax.
        let scores = Double(t) * Double(keys) * Double(problems), causal = FLOPCount.causalPairs(t, keys: keys, window: window) / (Double(t) * Double(keys))
        batchedGemm("attention.scores", m: t, n: keys, k: qk, heads: problems, causalShare: causal,
                    read: queries + keyBytes, written: scores * bytes)
        record("attention.softmax", .elementwise, flops: 5 * scores, read: scores * bytes, written: scores * bytes, precision: .bf16)
        // Dropout writes the kept probabilities and a one-byte mask.
        if attentionDropout { record("attention.dropout", .elementwise, flops: scores, read: scores * bytes, written: scores * (bytes + 1), precision: .bf16) }
        batchedGemm("attention.context", m: t, n: vd, k: keys, heads: problems, causalShare: causal,
                    read: scores * bytes + values, written: out)
        return fresh(q.rows, heads * vd)
    }

    /// The FlashAttention calls of one sequence's attention on this GPU (`t` queries over
    /// `keys` keys). Without context parallelism, one causal call. With it (Transformer
    /// Engine's ring of peer-to-peer key/value exchanges, the order of Megatron-LM's
    /// load-balanced chunks): first the local call, the GPU's two chunks over their own keys
    /// under the causal mask (as many pairs as a causal call of `t`); then one call per block
    /// received from the CP − 1 others, unmasked: against an earlier GPU's block the local
    /// queries see its first chunk, against a later one the local second chunk sees both, `t`
    /// × `t`/2 pairs either way. Over the group the pairs add up to the whole sequence's
    /// causal pairs, split evenly.
    func contextParallelCalls(queries t: Int, keys: Int) -> [(suffix: String, queries: Int, keys: Int, causal: Bool)] {
        [("", t, keys, true)] + Array(repeating: (".ring", t, keys / 2, false), count: max(contextParallel, 1) - 1)
    }

    public mutating func attentionBackward(_ q: ShapeTensor, _ k: ShapeTensor, _ v: ShapeTensor, _ dO: ShapeTensor, heads: Int, kvHeads: Int,
                                           window: Int?) -> (dq: ShapeTensor, dk: ShapeTensor, dv: ShapeTensor) {
        let qk = q.cols / heads, vd = v.cols / kvHeads, n = attentionSequences
        let t = q.rows / n, keys = attentionKeys ?? k.rows / n, problems = heads * n
        let bytes = Double(activationBytes)
        let out = Double(q.rows * heads * vd) * bytes, values = Double(n * keys * v.cols) * bytes
        let queries = Double(q.rows * q.cols) * bytes, keysBytes = Double(n * keys * k.cols) * bytes
        guard attentionKernel == .unfused else {
            for call in contextParallelCalls(queries: t, keys: keys) {
                let share = Double(call.keys) / Double(keys)
                let f = FLOPCount.attentionBackward(tokens: call.queries, keys: call.keys, heads: problems, qk: qk, v: vd, causal: call.causal, window: window)
                record("attention.bwd" + call.suffix, .attentionBackward, flops: f.executed, modelFLOPs: f.model,
                       read: queries + out + share * (keysBytes + values), written: queries + share * Double(q.rows * (k.cols + v.cols)) * bytes,
                       precision: .bf16, attention: .init(queries: call.queries, keys: call.keys, heads: problems, qkDim: qk, vDim: vd, causal: call.causal, window: window))
            }
            contextParallelGradientMerge(queryElements: Double(q.rows * q.cols), keyValueElements: Double(k.rows * (k.cols + v.cols)))
            return (fresh(q.rows, q.cols), fresh(q.rows, k.cols), fresh(q.rows, v.cols))
        }
        // The four GEMMs of the stored probabilities P, each over every (query, key) pair:
        // dP = dO·Vᵀ and dV = Pᵀ·dO, then dQ = dS·K and dK = dSᵀ·Q around the softmax backward.
        let scores = Double(t) * Double(keys) * Double(problems), causal = FLOPCount.causalPairs(t, keys: keys, window: window) / (Double(t) * Double(keys))
        batchedGemm("attention.dP", m: t, n: keys, k: vd, heads: problems, causalShare: causal, read: out + values, written: scores * bytes)
        batchedGemm("attention.dV", m: keys, n: vd, k: t, heads: problems, causalShare: causal, read: scores * bytes + out, written: values)
        if attentionDropout { record("attention.dropout.bwd", .elementwise, flops: scores, read: scores * (bytes + 1), written: scores * bytes, precision: .bf16) }
        record("attention.softmax.bwd", .elementwise, flops: 4 * scores, read: 2 * scores * bytes, written: scores * bytes, precision: .bf16)
        batchedGemm("attention.dQ", m: t, n: qk, k: keys, heads: problems, causalShare: causal, read: scores * bytes + keysBytes, written: queries)
        batchedGemm("attention.dK", m: keys, n: qk, k: t, heads: problems, causalShare: causal, read: scores * bytes + queries, written: keysBytes)
        return (fresh(q.rows, q.cols), fresh(q.rows, k.cols), fresh(q.rows, v.cols))
    }

    /// The gate's GEMM, then one kernel record for the scores' activation and the top-k
    /// selections (`OperationRecord.Selection`), which the cost model prices per token row,
    /// and one for the router's small bookkeeping kernels (`OperationRecord.Bookkeeping.router`).
    public mutating func gateScores(_ w: Weight, _ x: ShapeTensor, topKPasses: Int) -> ShapeTensor {
        gemmRecord("\(w.name).fprop", m: x.rows, n: w.output, k: w.input, precision: w.precision)
        elementwise("gate.sigmoid_topk", .router, elements: x.rows * w.output, reads: 1, writes: 0, flopsPerElement: 8,
                    selection: .init(rows: x.rows, scores: w.output, passes: topKPasses))
        record("gate.bookkeeping", .router, read: 0, written: 0, precision: .fp32, bookkeeping: .router)
        return fresh(x.rows, w.output)
    }

    public mutating func route(_ scores: ShapeTensor) -> MoETraffic {
        tokenRows = scores.rows
        expertCount = scores.cols
        return traffic
    }

    /// Reorders `rows` token rows of `bytesPerRow` each (read and written once).
    mutating func permute(_ name: String, rows: Int, bytesPerRow: Int) {
        let bytes = Double(rows) * Double(bytesPerRow)
        record(name, .permute, read: bytes, written: bytes, precision: .bf16)
    }

    /// The forward's cast is DeepSeek's special-format kernel (`dispatchCast`); the backward's,
    /// of the output gradient, the regular per-token cast (as the trace runs them).
    public mutating func quantizeForDispatch(_ x: ShapeTensor, _ r: MoETraffic) {
        if r.dispatchFormat == .fp8 { quantize(x, transposed: false, kind: pass == .forward ? .dispatchCast : .cast) }
    }

    /// Tokens of the micro-batch on this GPU and experts scored, from the last `route` call.
    var tokenRows = 0
    var expertCount = 0

    /// Tokens out to the experts (dispatch, and the backward of combine): the all-to-all in
    /// the dispatch's format, then the permute into per-expert rows, which moves them in that
    /// format (FP8 rows with their scales are already cast for the experts' GEMMs).
    /// With `buildsLayout` (the forward's dispatch) the map from the received tokens to
    /// per-expert rows is built before the permute (`OperationRecord.Bookkeeping.expertLayout`);
    /// the backward of combine reuses it.
    mutating func scatter(_ suffix: String, cols: Int, _ r: MoETraffic, buildsLayout: Bool) -> [ShapeTensor] {
        record("dispatch" + suffix, .dispatch, read: 0, written: 0, precision: r.dispatchFormat == .fp8 ? .fp8 : .bf16, traffic: r.dispatch)
        let rows = r.localExpertRows.reduce(0, +)
        if buildsLayout { record("layout", .router, read: 0, written: 0, precision: .fp32, bookkeeping: .expertLayout(rows: rows)) }
        permute("permute" + suffix, rows: rows, bytesPerRow: TokenCopyBytes.dispatch(hidden: cols, format: r.dispatchFormat))
        let parts = r.localExpertRows.map { fresh($0, cols) }
        arrivedByAllToAll.formUnion(parts.map(\.id))
        if r.dispatchFormat == .fp8 { cast.formUnion(parts.map(\.id)) }
        return parts
    }

    /// Expert rows back to tokens (combine, and the backward of dispatch): the unpermute, then
    /// the BF16 all-to-all.
    mutating func gather(_ suffix: String, _ parts: [ShapeTensor], _ r: MoETraffic) -> ShapeTensor {
        let cols = parts.first?.cols ?? 0
        permute("unpermute" + suffix, rows: parts.reduce(0) { $0 + $1.rows }, bytesPerRow: TokenCopyBytes.combine(hidden: cols))
        record("combine" + suffix, .combine, read: 0, written: 0, precision: .bf16, traffic: r.combine)
        return fresh(tokenRows, cols)
    }

    public mutating func dispatch(_ x: ShapeTensor, _ r: MoETraffic) -> [ShapeTensor] { scatter("", cols: x.cols, r, buildsLayout: true) }
    public mutating func combine(_ ys: [ShapeTensor], _ r: MoETraffic) -> ShapeTensor { gather("", ys, r) }
    public mutating func combineBackward(_ dy: ShapeTensor, _ r: MoETraffic) -> [ShapeTensor] { scatter(".bwd", cols: dy.cols, r, buildsLayout: false) }
    public mutating func dispatchBackward(_ dxs: [ShapeTensor], _ r: MoETraffic) -> ShapeTensor { gather(".bwd", dxs, r) }

    /// The weight is fused into the SwiGLU kernel: the same cost as `swiglu`.
    public mutating func weightedSwiglu(_ ups: [ShapeTensor], _ r: MoETraffic) -> [ShapeTensor] { ups.map { swiglu($0) } }

    /// One fused pass per expert reads u (2I wide) and dH (I), writes the recomputed weighted
    /// output (I) and dU (2I); then the weights' gradient reads the SwiGLU output and dH.
    /// DeepSeek's trace: 332 + 105 µs per layer for 32.5K rows of I = 2,048.
    public mutating func weightedSwigluBackward(_ ups: [ShapeTensor], _ dHs: [ShapeTensor], _ r: MoETraffic) -> (hs: [ShapeTensor], dUps: [ShapeTensor], dScores: ShapeTensor) {
        let hs = zip(ups, dHs).map { u, dh -> ShapeTensor in
            elementwise("swiglu.recompute_bwd", .elementwise, elements: dh.rows * dh.cols, reads: 3, writes: 3, flopsPerElement: 18)
            return fresh(u.rows, u.cols / 2)
        }
        let dUps = ups.map { fresh($0.rows, $0.cols) }
        elementwise("gate.grad", .router, elements: dHs.reduce(0) { $0 + $1.rows * $1.cols }, reads: 2, writes: 0, flopsPerElement: 2)
        return (hs, dUps, fresh(tokenRows, expertCount))
    }

    public mutating func embed(_ tokens: Int, hidden: Int, vocabulary: Int) -> ShapeTensor {
        tokenRows = tokens
        elementwise("embedding", .embedding, elements: tokens * hidden, reads: 1, writes: 1, flopsPerElement: 0)
        return fresh(tokens, hidden)
    }

    /// The embedding table's weight gradient (`embeddingGradient`): dense, the whole table
    /// zero-filled, the rows' gradients summed into it (read in BF16, their partial sums
    /// written and read in FP32, the summed rows written in BF16; the sort of the token indices
    /// before it, 8 B per token, left out), and the table added into the step's gradient;
    /// sparse, the rows' gradients copied into the sparse tensor's values and added row by row.
    public mutating func embedBackward(_ dy: ShapeTensor, vocabulary: Int) {
        let rows = dy.rows * dy.cols, bf16 = Double(activationBytes), partials = Double(Precision.fp32.bytes)
        switch embeddingGradient.kind {
        case .dense:
            let table = vocabulary * dy.cols
            elementwise("wgrad_zero", .embedding, elements: table, reads: 0, writes: 1, flopsPerElement: 0)
            record("wgrad_scatter", .embedding, flops: Double(rows), read: Double(rows) * (bf16 + partials), written: Double(rows) * (partials + bf16),
                   precision: .bf16)
            accumulateGradient("table", parameters: table, bytesPerParameter: embeddingGradient.accumulationBytes)
        case .sparse:
            elementwise("wgrad_values", .embedding, elements: rows, reads: 1, writes: 1, flopsPerElement: 0)
            // `index_add` into the accumulated gradient, one looked-up element at a time.
            accumulateGradient("table", parameters: rows, bytesPerParameter: embeddingGradient.accumulationBytes)
        }
    }
}
