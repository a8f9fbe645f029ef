import Foundation
import Hardware
import Stochastic

/// Runs the layer code on real values (small shapes): every GEMM and attention product is
/// computed, and the FLOPs it performs are tallied per operation name, so tests can hold the
/// cost executor's records to what was actually computed. FP8 Linears quantise both operands
/// (1×128 tiles / 128×128 blocks when the shapes allow, one scale per tensor otherwise) before
/// multiplying in FP64; FP4 (NVFP4) Linears multiply their operands unquantized (no E2M1
/// quantizer is modelled: this executor checks shapes and FLOPs, not NVFP4's numerics). All
/// experts are local (EP = 1).
public struct NumericExecutor: Executor {
    public typealias Tensor = DenseTensor

    public struct Route {
        public var routing: Routing
        /// For each expert, the (token, slot in top-k) pairs routed to it, in token order.
        public var members: [[(token: Int, slot: Int)]]
    }
    public typealias RouteResult = Route

    public var layer = 0
    public var block = Block.attention
    public var pass = Pass.forward
    public var recomputing = false
    /// FLOPs performed by GEMMs and attention, by record name (`L<layer>.<block>.<op>`).
    public private(set) var executedFLOPs: [String: Double] = [:]
    /// Accumulated weight gradients, by weight name.
    public private(set) var weightGradients: [String: [Double]] = [:]
    let router: Router
    let stream: RandomStream
    private var weights: [String: [Double]] = [:]

    public init(router: RouterConfig, seed: UInt64) throws {
        self.router = try Router(config: router)
        stream = RandomStream(seed: seed)
    }

    /// While a grouped GEMM runs its experts one by one, their FLOPs go to the grouped name.
    private var groupedName: String?

    mutating func tally(_ name: String, _ flops: Double) {
        executedFLOPs["L\(layer).\(block.rawValue).\(groupedName ?? name)", default: 0] += flops
    }

    /// The weight's values (created on first use from the seed and the name), as the GEMM sees
    /// them (FP8-quantised for FP8 weights).
    mutating func values(_ w: Weight) -> [Double] {
        let key = "L\(layer).\(w.name)"
        if let v = weights[key] { return v }
        let s = stream.split(key)
        let sd = 1 / Double(w.input).squareRoot()
        var v = (0..<(w.input * w.output)).map { _ in (try? s.normal(sd: sd)) ?? 0 }
        if w.precision == .fp8 { v = Self.fp8(v, rows: w.input, cols: w.output, weight: true) }
        weights[key] = v
        return v
    }

    static func fp8(_ v: [Double], rows: Int, cols: Int, weight: Bool) -> [Double] {
        let fine: ScalingGranularity = weight ? .block128x128 : .tile1x128
        let fits = weight ? rows % 128 == 0 && cols % 128 == 0 : cols % 128 == 0
        return (try? FP8Quantizer.quantize(v, rows: rows, cols: cols, granularity: fits ? fine : .perTensor).dequantized()) ?? v
    }

    /// C = op(A)·op(B) in FP64, op = transpose when asked; tallies 2mnk.
    mutating func matmul(_ name: String, _ a: [Double], _ ar: Int, _ ac: Int, transposeA: Bool,
                         _ b: [Double], _ br: Int, _ bc: Int, transposeB: Bool) -> DenseTensor {
        let m = transposeA ? ac : ar, k = transposeA ? ar : ac, n = transposeB ? br : bc
        precondition(k == (transposeB ? bc : br), "matmul \(name): inner dimensions differ")
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for p in 0..<k {
                let x = transposeA ? a[p * ac + i] : a[i * ac + p]
                if x == 0 { continue }
                for j in 0..<n { c[i * n + j] += x * (transposeB ? b[j * bc + p] : b[p * bc + j]) }
            }
        }
        tally(name, FLOPCount.gemm(m: m, n: n, k: k))
        return DenseTensor(rows: m, cols: n, values: c)
    }

    mutating func operand(_ x: DenseTensor, _ precision: Precision) -> [Double] {
        precision == .fp8 ? Self.fp8(x.values, rows: x.rows, cols: x.cols, weight: false) : x.values
    }

    public mutating func linear(_ w: Weight, _ x: DenseTensor) -> DenseTensor {
        let wv = values(w)
        return matmul("\(w.name).fprop", operand(x, w.precision), x.rows, x.cols, transposeA: false, wv, w.input, w.output, transposeB: false)
    }

    public mutating func linearDgrad(_ w: Weight, _ dy: DenseTensor) -> DenseTensor {
        let wv = values(w)
        return matmul("\(w.name).dgrad", operand(dy, w.precision), dy.rows, dy.cols, transposeA: false, wv, w.input, w.output, transposeB: true)
    }

    public mutating func linearWgrad(_ w: Weight, _ x: DenseTensor, _ dy: DenseTensor) {
        let g = matmul("\(w.name).wgrad", operand(x, w.precision), x.rows, x.cols, transposeA: true, operand(dy, w.precision), dy.rows, dy.cols, transposeB: false)
        let key = "L\(layer).\(w.name)"
        weightGradients[key] = zip(weightGradients[key] ?? [Double](repeating: 0, count: g.values.count), g.values).map(+)
    }

    func expertWeight(_ w: Weight, _ e: Int) -> Weight { Weight("\(w.name)[\(e)]", w.input, w.output, precision: w.precision) }

    /// One FLOP tally per grouped call, as the cost executor records one grouped GEMM.
    mutating func grouped(_ name: String, _ body: (inout NumericExecutor) -> Void) {
        groupedName = name
        body(&self)
        groupedName = nil
    }

    /// This executor's experts carry no bias tensors (its weights are the GEMMs'), i.e. biases
    /// of zero, so adding them leaves the values as they are and their gradients are not kept;
    /// what the adds cost is the cost executor's (`ExpertBiasKernels`).
    public mutating func expertBias(_ ys: [DenseTensor], weighted: Bool) -> [DenseTensor] { ys }
    public mutating func expertBiasBackward(_ dys: [DenseTensor], weighted: Bool) -> [DenseTensor] { dys }

    public mutating func groupedLinear(_ w: Weight, _ xs: [DenseTensor]) -> [DenseTensor] {
        var out: [DenseTensor] = []
        grouped("\(w.name).fprop") { ex in out = xs.enumerated().map { ex.linear(ex.expertWeight(w, $0), $1) } }
        return out
    }

    public mutating func groupedLinearDgrad(_ w: Weight, _ dys: [DenseTensor]) -> [DenseTensor] {
        var out: [DenseTensor] = []
        grouped("\(w.name).dgrad") { ex in out = dys.enumerated().map { ex.linearDgrad(ex.expertWeight(w, $0), $1) } }
        return out
    }

    public mutating func groupedLinearWgrad(_ w: Weight, _ xs: [DenseTensor], _ dys: [DenseTensor]) {
        grouped("\(w.name).wgrad") { ex in for e in xs.indices { ex.linearWgrad(ex.expertWeight(w, e), xs[e], dys[e]) } }
    }

    public mutating func quantize(_ x: DenseTensor, transposed: Bool) {}

    // MARK: Element-wise

    public mutating func rmsNorm(_ name: String, _ x: DenseTensor) -> DenseTensor {
        var y = x
        for r in 0..<x.rows {
            var ss = 0.0
            for c in 0..<x.cols { ss += x[r, c] * x[r, c] }
            let inv = 1 / (ss / Double(x.cols) + 1e-6).squareRoot()
            for c in 0..<x.cols { y[r, c] = x[r, c] * inv }
        }
        return y
    }

    public mutating func rmsNormBackward(_ name: String, _ x: DenseTensor, _ dy: DenseTensor) -> DenseTensor {
        var dx = x
        let n = Double(x.cols)
        for r in 0..<x.rows {
            var ss = 0.0, dot = 0.0
            for c in 0..<x.cols { ss += x[r, c] * x[r, c]; dot += dy[r, c] * x[r, c] }
            let ms = ss / n + 1e-6, inv = 1 / ms.squareRoot()
            for c in 0..<x.cols { dx[r, c] = inv * dy[r, c] - inv * inv * inv * x[r, c] * dot / n }
        }
        return dx
    }

    /// The per-head norms apply the row norm to each head's columns.
    public mutating func headRMSNorm(_ name: String, _ x: DenseTensor, heads: Int) -> DenseTensor {
        perHead(x.cols, heads: heads) { e, range in e.rmsNorm(name, e.columns(x, range)) }
    }

    public mutating func headRMSNormBackward(_ name: String, _ x: DenseTensor, _ dy: DenseTensor, heads: Int) -> DenseTensor {
        perHead(x.cols, heads: heads) { e, range in e.rmsNormBackward(name, e.columns(x, range), e.columns(dy, range)) }
    }

    /// `body` on each head's range of `cols` columns, the results side by side (`concat`).
    mutating func perHead(_ cols: Int, heads: Int, _ body: (inout Self, Range<Int>) -> DenseTensor) -> DenseTensor {
        precondition(heads > 0 && cols % heads == 0, "\(cols) columns do not split into \(heads) heads")
        let width = cols / heads
        var y = body(&self, 0..<width)
        for h in 1..<heads { let part = body(&self, h * width..<(h + 1) * width); y = concat(y, part) }
        return y
    }

    static func silu(_ a: Double) -> Double { a / (1 + exp(-a)) }

    public mutating func swiglu(_ x: DenseTensor) -> DenseTensor {
        let h = x.cols / 2
        var y = DenseTensor(zeros: x.rows, h)
        for r in 0..<x.rows { for c in 0..<h { y[r, c] = Self.silu(x[r, c]) * x[r, h + c] } }
        return y
    }

    public mutating func swigluBackward(_ x: DenseTensor, _ dy: DenseTensor) -> DenseTensor {
        let h = x.cols / 2
        var dx = DenseTensor(zeros: x.rows, x.cols)
        for r in 0..<x.rows {
            for c in 0..<h {
                let a = x[r, c], s = 1 / (1 + exp(-a))
                dx[r, c] = dy[r, c] * x[r, h + c] * (s + a * s * (1 - s))
                dx[r, h + c] = dy[r, c] * a * s
            }
        }
        return dx
    }

    public mutating func rope(_ x: DenseTensor, heads: Int, stride: Int, offset: Int, ropeDim: Int) -> DenseTensor {
        var y = x
        for r in 0..<x.rows {
            for h in 0..<heads {
                for i in 0..<(ropeDim / 2) {
                    let angle = Double(r) * pow(10_000, -2 * Double(i) / Double(ropeDim))
                    let c0 = h * stride + offset + 2 * i
                    let a = x[r, c0], b = x[r, c0 + 1]
                    y[r, c0] = a * cos(angle) - b * sin(angle)
                    y[r, c0 + 1] = a * sin(angle) + b * cos(angle)
                }
            }
        }
        return y
    }

    public mutating func add(_ a: DenseTensor, _ b: DenseTensor) -> DenseTensor {
        DenseTensor(rows: a.rows, cols: a.cols, values: zip(a.values, b.values).map(+))
    }

    public func columns(_ x: DenseTensor, _ range: Range<Int>) -> DenseTensor {
        headColumns(x, heads: 1, stride: x.cols, offset: range.lowerBound, width: range.count)
    }

    public func headColumns(_ x: DenseTensor, heads: Int, stride: Int, offset: Int, width: Int) -> DenseTensor {
        var y = DenseTensor(zeros: x.rows, heads * width)
        for r in 0..<x.rows { for h in 0..<heads { for c in 0..<width { y[r, h * width + c] = x[r, h * stride + offset + c] } } }
        return y
    }

    public mutating func interleave(_ perHead: DenseTensor, width a: Int, shared: DenseTensor, heads: Int) -> DenseTensor {
        let b = shared.cols
        var y = DenseTensor(zeros: perHead.rows, heads * (a + b))
        for r in 0..<y.rows {
            for h in 0..<heads {
                for c in 0..<a { y[r, h * (a + b) + c] = perHead[r, h * a + c] }
                for c in 0..<b { y[r, h * (a + b) + a + c] = shared[r, c] }
            }
        }
        return y
    }

    public mutating func deinterleave(_ x: DenseTensor, width a: Int, sharedWidth b: Int, heads: Int) -> (perHead: DenseTensor, shared: DenseTensor) {
        var p = DenseTensor(zeros: x.rows, heads * a), s = DenseTensor(zeros: x.rows, b)
        for r in 0..<x.rows {
            for h in 0..<heads {
                for c in 0..<a { p[r, h * a + c] = x[r, h * (a + b) + c] }
                for c in 0..<b { s[r, c] += x[r, h * (a + b) + a + c] }
            }
        }
        return (p, s)
    }

    public mutating func mergeHeads(_ a: DenseTensor, width wa: Int, _ b: DenseTensor, width wb: Int, heads: Int) -> DenseTensor {
        var y = DenseTensor(zeros: a.rows, heads * (wa + wb))
        for r in 0..<a.rows {
            for h in 0..<heads {
                for c in 0..<wa { y[r, h * (wa + wb) + c] = a[r, h * wa + c] }
                for c in 0..<wb { y[r, h * (wa + wb) + wa + c] = b[r, h * wb + c] }
            }
        }
        return y
    }

    public mutating func concat(_ a: DenseTensor, _ b: DenseTensor) -> DenseTensor {
        var y = DenseTensor(zeros: a.rows, a.cols + b.cols)
        for r in 0..<a.rows {
            for c in 0..<a.cols { y[r, c] = a[r, c] }
            for c in 0..<b.cols { y[r, a.cols + c] = b[r, c] }
        }
        return y
    }

    public mutating func embed(_ tokens: Int, hidden: Int, vocabulary: Int) -> DenseTensor {
        let s = stream.split("embedding", index: layer)
        return DenseTensor(rows: tokens, cols: hidden, values: (0..<(tokens * hidden)).map { _ in (try? s.normal()) ?? 0 })
    }

    /// The looked-up rows are random draws, not rows of a table: there is no weight here to
    /// take a gradient of (the numeric executor checks the layers' gradients).
    public mutating func embedBackward(_ dy: DenseTensor, vocabulary: Int) {}

    public mutating func crossEntropy(_ logits: DenseTensor) -> DenseTensor {
        // Gradient of the mean cross-entropy against target 0 for every token: softmax − one-hot.
        var g = logits
        for r in 0..<logits.rows {
            let m = (0..<logits.cols).map { logits[r, $0] }.max() ?? 0
            let e = (0..<logits.cols).map { exp(logits[r, $0] - m) }
            let total = e.reduce(0, +)
            for c in 0..<logits.cols { g[r, c] = (e[c] / total - (c == 0 ? 1 : 0)) / Double(logits.rows) }
        }
        return g
    }
}
