import Foundation
import Stochastic

/// Shapes of Multi-head Latent Attention (DeepSeek-V2 §2.1, V3 report §2.1.1).
public struct MLADimensions: Sendable, Codable, Equatable {
    public var hidden: Int
    public var heads: Int
    /// Query compression d_c′.
    public var qLoraRank: Int
    /// KV compression d_c.
    public var kvLoraRank: Int
    public var qkNopeHeadDim: Int
    /// Decoupled RoPE dim d_h^R.
    public var qkRopeHeadDim: Int
    public var vHeadDim: Int

    public init(hidden: Int, heads: Int, qLoraRank: Int, kvLoraRank: Int, qkNopeHeadDim: Int, qkRopeHeadDim: Int, vHeadDim: Int) {
        self.hidden = hidden; self.heads = heads; self.qLoraRank = qLoraRank; self.kvLoraRank = kvLoraRank
        self.qkNopeHeadDim = qkNopeHeadDim; self.qkRopeHeadDim = qkRopeHeadDim; self.vHeadDim = vHeadDim
    }

    /// DeepSeek-V3 (config.json).
    public static let deepSeekV3 = MLADimensions(hidden: 7168, heads: 128, qLoraRank: 1536, kvLoraRank: 512,
                                                 qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128)

    public var qkHeadDim: Int { qkNopeHeadDim + qkRopeHeadDim }

    /// Bytes of KV cache per token per layer in BF16: the latent c_KV and the shared RoPE key.
    public var kvCacheBytesPerLayer: Int { (kvLoraRank + qkRopeHeadDim) * 2 }

    /// Forward FLOPs per token of one layer in the naive (prefill/training) form, with `keys`
    /// keys attended: projections W_DQ, W_UQ, W_DKV+W_KR, W_UK and W_UV (K and V rebuilt for
    /// every token), W_O; scores and values 2·H·(d_qk + d_v)·keys.
    public func naiveFLOPsPerToken(keys: Double) -> Double {
        let projections = hidden * qLoraRank + qLoraRank * heads * qkHeadDim + hidden * (kvLoraRank + qkRopeHeadDim)
            + kvLoraRank * heads * (qkNopeHeadDim + vHeadDim) + heads * vHeadDim * hidden
        return 2 * Double(projections) + 2 * Double(heads) * Double(qkHeadDim + vHeadDim) * keys
    }

    /// Forward FLOPs per generated token of one layer in the absorbed (decode) form: W_UK folded
    /// into the query (H·d_nope·d_c), attention over the cached latent (scores over d_c + d_R,
    /// values over d_c), then W_UV (H·d_c·d_v) and W_O. No per-key up-projection.
    public func absorbedFLOPsPerToken(keys: Double) -> Double {
        let projections = hidden * qLoraRank + qLoraRank * heads * qkHeadDim + hidden * (kvLoraRank + qkRopeHeadDim)
            + heads * qkNopeHeadDim * kvLoraRank + heads * kvLoraRank * vHeadDim + heads * vHeadDim * hidden
        return 2 * Double(projections) + 2 * Double(heads) * Double(kvLoraRank + qkRopeHeadDim + kvLoraRank) * keys
    }
}

/// MLA on real values, in both published forms, for checking that they agree.
///
/// Weights are row-major `in × out`: W_DQ (d × d_c′), W_UQ (d_c′ × H·(d_nope + d_R)), W_DKV
/// (d × (d_c + d_R), the last d_R columns being W_KR), W_UKV (d_c × H·(d_nope + d_v), per head
/// the key block then the value block). RMSNorm on c_Q and c_KV with unit gain; RoPE with base
/// 10,000 on the d_R dims; causal softmax. The output is the concatenated per-head attention
/// output before W_O (W_O is common to both forms).
public struct MLAReference {
    public let dims: MLADimensions
    let wDQ: [Double], wUQ: [Double], wDKV: [Double], wUKV: [Double]

    public init(dims: MLADimensions, stream: RandomStream) throws {
        self.dims = dims
        func weights(_ rows: Int, _ cols: Int) throws -> [Double] {
            let sd = 1 / Double(rows).squareRoot()          // keeps activations O(1)
            return try (0..<(rows * cols)).map { _ in try stream.normal(sd: sd) }
        }
        wDQ = try weights(dims.hidden, dims.qLoraRank)
        wUQ = try weights(dims.qLoraRank, dims.heads * dims.qkHeadDim)
        wDKV = try weights(dims.hidden, dims.kvLoraRank + dims.qkRopeHeadDim)
        wUKV = try weights(dims.kvLoraRank, dims.heads * (dims.qkNopeHeadDim + dims.vHeadDim))
    }

    struct Projected {
        var q: [Double]       // T × H·(d_nope + d_R), RoPE applied
        var cKV: [Double]     // T × d_c (normalised)
        var kRope: [Double]   // T × d_R (RoPE applied)
    }

    func project(_ x: [Double], tokens t: Int) throws -> Projected {
        let d = dims
        var cQ = try BLAS.gemm(x, wDQ, m: t, n: d.qLoraRank, k: d.hidden)
        rmsNorm(&cQ, rows: t, cols: d.qLoraRank)
        var q = try BLAS.gemm(cQ, wUQ, m: t, n: d.heads * d.qkHeadDim, k: d.qLoraRank)
        let kv = try BLAS.gemm(x, wDKV, m: t, n: d.kvLoraRank + d.qkRopeHeadDim, k: d.hidden)
        var cKV = [Double](), kRope = [Double]()
        for r in 0..<t {
            let row = kv[(r * (d.kvLoraRank + d.qkRopeHeadDim))..<((r + 1) * (d.kvLoraRank + d.qkRopeHeadDim))]
            cKV += row.prefix(d.kvLoraRank)
            kRope += row.suffix(d.qkRopeHeadDim)
        }
        rmsNorm(&cKV, rows: t, cols: d.kvLoraRank)
        for r in 0..<t {
            rope(&kRope, offset: r * d.qkRopeHeadDim, position: r)
            for h in 0..<d.heads { rope(&q, offset: r * d.heads * d.qkHeadDim + h * d.qkHeadDim + d.qkNopeHeadDim, position: r) }
        }
        return Projected(q: q, cKV: cKV, kRope: kRope)
    }

    /// Naive form: rebuild K and V for every token, then per-head causal attention.
    public func naive(_ x: [Double], tokens t: Int) throws -> [Double] {
        let d = dims, p = try project(x, tokens: t)
        let kv = try BLAS.gemm(p.cKV, wUKV, m: t, n: d.heads * (d.qkNopeHeadDim + d.vHeadDim), k: d.kvLoraRank)
        let width = d.qkNopeHeadDim + d.vHeadDim
        var out = [Double](repeating: 0, count: t * d.heads * d.vHeadDim)
        for h in 0..<d.heads {
            for i in 0..<t {
                let qBase = i * d.heads * d.qkHeadDim + h * d.qkHeadDim
                let scores = (0...i).map { j -> Double in
                    let kBase = j * d.heads * width + h * width
                    var s = 0.0
                    for c in 0..<d.qkNopeHeadDim { s += p.q[qBase + c] * kv[kBase + c] }
                    for c in 0..<d.qkRopeHeadDim { s += p.q[qBase + d.qkNopeHeadDim + c] * p.kRope[j * d.qkRopeHeadDim + c] }
                    return s / Double(d.qkHeadDim).squareRoot()
                }
                let w = softmax(scores)
                for (j, wj) in w.enumerated() {
                    let vBase = j * d.heads * width + h * width + d.qkNopeHeadDim
                    for c in 0..<d.vHeadDim { out[i * d.heads * d.vHeadDim + h * d.vHeadDim + c] += wj * kv[vBase + c] }
                }
            }
        }
        return out
    }

    /// Absorbed form (decode): W_UK folded into the query, attention over the cached latent
    /// c_KV and shared RoPE key, W_UV applied to the attended latent.
    public func absorbed(_ x: [Double], tokens t: Int) throws -> [Double] {
        let d = dims, p = try project(x, tokens: t)
        let width = d.qkNopeHeadDim + d.vHeadDim, columns = d.heads * width
        var out = [Double](repeating: 0, count: t * d.heads * d.vHeadDim)
        for h in 0..<d.heads {
            for i in 0..<t {
                let qBase = i * d.heads * d.qkHeadDim + h * d.qkHeadDim
                // q_lat = q_nope · W_UK_hᵀ  (d_c values)
                var qLatent = [Double](repeating: 0, count: d.kvLoraRank)
                for r in 0..<d.kvLoraRank {
                    var s = 0.0
                    for c in 0..<d.qkNopeHeadDim { s += p.q[qBase + c] * wUKV[r * columns + h * width + c] }
                    qLatent[r] = s
                }
                let scores = (0...i).map { j -> Double in
                    var s = 0.0
                    for r in 0..<d.kvLoraRank { s += qLatent[r] * p.cKV[j * d.kvLoraRank + r] }
                    for c in 0..<d.qkRopeHeadDim { s += p.q[qBase + d.qkNopeHeadDim + c] * p.kRope[j * d.qkRopeHeadDim + c] }
                    return s / Double(d.qkHeadDim).squareRoot()
                }
                let w = softmax(scores)
                var oLatent = [Double](repeating: 0, count: d.kvLoraRank)
                for (j, wj) in w.enumerated() { for r in 0..<d.kvLoraRank { oLatent[r] += wj * p.cKV[j * d.kvLoraRank + r] } }
                for c in 0..<d.vHeadDim {
                    var s = 0.0
                    for r in 0..<d.kvLoraRank { s += oLatent[r] * wUKV[r * columns + h * width + d.qkNopeHeadDim + c] }
                    out[i * d.heads * d.vHeadDim + h * d.vHeadDim + c] = s
                }
            }
        }
        return out
    }

    func rmsNorm(_ m: inout [Double], rows: Int, cols: Int) {
        for r in 0..<rows {
            var ss = 0.0
            for c in 0..<cols { ss += m[r * cols + c] * m[r * cols + c] }
            let inv = 1 / (ss / Double(cols) + 1e-6).squareRoot()
            for c in 0..<cols { m[r * cols + c] *= inv }
        }
    }

    /// Rotary embedding of `dims.qkRopeHeadDim` values at `offset`, position `position`, base 10,000.
    func rope(_ v: inout [Double], offset: Int, position: Int) {
        let n = dims.qkRopeHeadDim
        for i in 0..<(n / 2) {
            let angle = Double(position) * pow(10_000, -2 * Double(i) / Double(n))
            let a = v[offset + 2 * i], b = v[offset + 2 * i + 1]
            v[offset + 2 * i] = a * cos(angle) - b * sin(angle)
            v[offset + 2 * i + 1] = a * sin(angle) + b * cos(angle)
        }
    }

    func softmax(_ s: [Double]) -> [Double] {
        let m = s.max() ?? 0
        let e = s.map { exp($0 - m) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }
}

/// The `llmsim mla check` experiment: both forms on random inputs, their difference, and the
/// figures that follow from the shapes.
public struct MLACheck: Sendable {
    public var dims: MLADimensions
    public var tokens: Int
    public var seed: UInt64
    /// Context length for the FLOP figures, tokens.
    public var context: Int
    public var layers: Int

    public init(dims: MLADimensions = .deepSeekV3, tokens: Int = 4, seed: UInt64 = 1, context: Int = 4096, layers: Int = 61) {
        self.dims = dims; self.tokens = tokens; self.seed = seed; self.context = context; self.layers = layers
    }

    public struct Result: Sendable, Codable, Equatable {
        public var tokens: Int
        public var absorbedVsNaiveMaxRelativeError: Double
        public var kvCacheBytesPerToken: Int
        public var kvCacheBytesPerTokenPerLayer: Int
        public var context: Int
        public var prefillFlopsPerTokenPerLayer: Double
        public var decodeFlopsPerTokenPerLayer: Double
    }

    public func run() throws -> Result {
        guard tokens > 0 else { throw KernelError("--tokens", "must be > 0, got \(tokens)", fix: "give a few tokens, e.g. 4") }
        guard context > 0 else { throw KernelError("--context", "must be > 0, got \(context)", fix: "give a context length in tokens") }
        let stream = RandomStream(seed: seed)
        let mla = try MLAReference(dims: dims, stream: stream.split("weights"))
        let inputs = stream.split("inputs")
        let x = try (0..<(tokens * dims.hidden)).map { _ in try inputs.normal() }
        let naive = try mla.naive(x, tokens: tokens)
        let absorbed = try mla.absorbed(x, tokens: tokens)
        let scale = naive.map(abs).max() ?? 1
        let error = zip(naive, absorbed).map { abs($0 - $1) / max(abs($0), scale * 1e-3) }.max() ?? 0
        return Result(tokens: tokens, absorbedVsNaiveMaxRelativeError: error,
                      kvCacheBytesPerToken: layers * dims.kvCacheBytesPerLayer, kvCacheBytesPerTokenPerLayer: dims.kvCacheBytesPerLayer,
                      context: context,
                      prefillFlopsPerTokenPerLayer: dims.naiveFLOPsPerToken(keys: Double(context) / 2),
                      decodeFlopsPerTokenPerLayer: dims.absorbedFLOPsPerToken(keys: Double(context)))
    }
}
