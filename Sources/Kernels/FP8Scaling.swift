import Foundation

/// Which elements share one FP8 scale (DeepSeek-V3 report §3.3.2, Fig. 7a).
public enum ScalingGranularity: String, Sendable, CaseIterable, Codable {
    /// Activations in the forward pass: per token (row), per 128 channels (columns).
    case tile1x128 = "1x128"
    /// Activations re-tiled for the backward pass: per channel (column), per 128 tokens (rows).
    case tile128x1 = "128x1"
    /// Weights: per 128×128 block.
    case block128x128 = "128x128"
    /// One scale for the whole tensor (the coarse baseline fine-grained scaling beats).
    case perTensor = "tensor"
    /// Microscaling (OCP MX; Transformer Engine's MXFP8 recipe on Blackwell): one E8M0 scale, a
    /// power of two, per 32 consecutive values of a row (`mx32x1` along a column), always along
    /// the GEMM's inner dimension (TE docs `features/low_precision_training/mxfp8/mxfp8.rst` at
    /// 495739c).
    case mx1x32 = "1x32"
    case mx32x1 = "32x1"

    /// Tile height and width; nil for per-tensor.
    var tile: (rows: Int, cols: Int)? {
        switch self {
        case .tile1x128: return (1, 128)
        case .tile128x1: return (128, 1)
        case .block128x128: return (128, 128)
        case .mx1x32: return (1, 32)
        case .mx32x1: return (32, 1)
        case .perTensor: return nil
        }
    }

    /// Whether the scales are E8M0 (powers of two), as microscaling requires.
    public var isMicroscaling: Bool { self == .mx1x32 || self == .mx32x1 }
}

/// A row-major matrix stored as FP8 codes plus one scale per tile: value = decode(code) · scale.
public struct QuantizedMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    public let format: FP8Format
    public let granularity: ScalingGranularity
    public let codes: [UInt8]
    /// Scales in tile order (row of tiles major).
    public let scales: [Double]
    let tileRows: Int
    let tileCols: Int

    /// Scale of the element at (r, c).
    func scale(row r: Int, col c: Int) -> Double {
        scales[(r / tileRows) * ((cols + tileCols - 1) / tileCols) + c / tileCols]
    }

    /// The represented values, row-major.
    public func dequantized() -> [Double] {
        var out = [Double](repeating: 0, count: rows * cols)
        let table = (0..<256).map { format.decode(UInt8($0)) }
        for r in 0..<rows {
            for c in 0..<cols {
                out[r * cols + c] = table[Int(codes[r * cols + c])] * scale(row: r, col: c)
            }
        }
        return out
    }
}

/// Quantises matrices to FP8 with online (current max-abs) scaling, as DeepSeek-V3 does: the
/// scale of a tile maps its largest magnitude to the format's largest finite value. With
/// `powerOfTwoScales` the scale is rounded up to a power of two (DeepSeek's dispatch and the
/// E5M6 attention-output input use such scales, §3.3.3); microscaling granularities always are
/// (E8M0 holds only the exponent; Transformer Engine rounds it up so that no value of the block
/// overflows, `mxfp8.rst` at 495739c).
public enum FP8Quantizer {
    public static func quantize(_ values: [Double], rows: Int, cols: Int, format: FP8Format = .e4m3,
                                granularity: ScalingGranularity, powerOfTwoScales: Bool = false) throws -> QuantizedMatrix {
        guard rows > 0, cols > 0, values.count == rows * cols else {
            throw KernelError("shape", "\(values.count) values for a \(rows)×\(cols) matrix", fix: "give rows·cols values, rows and cols > 0")
        }
        let (tileRows, tileCols) = granularity.tile ?? (rows, cols)
        if rows % tileRows != 0 || cols % tileCols != 0 {
            throw KernelError("shape", "a \(rows)×\(cols) matrix is not a whole number of \(tileRows)×\(tileCols) tiles",
                              fix: "pad the dimensions to multiples of \(max(tileRows, tileCols)) (K must be a multiple of the \(max(tileRows, tileCols))-wide tile)")
        }
        let tilesAcross = cols / tileCols
        var scales = [Double](repeating: 1, count: (rows / tileRows) * tilesAcross)
        for tr in 0..<(rows / tileRows) {
            for tc in 0..<tilesAcross {
                var amax = 0.0
                for r in (tr * tileRows)..<((tr + 1) * tileRows) {
                    for c in (tc * tileCols)..<((tc + 1) * tileCols) { amax = max(amax, abs(values[r * cols + c])) }
                }
                var scale = amax > 0 ? amax / format.maxFinite : 1
                if powerOfTwoScales || granularity.isMicroscaling { scale = pow(2, ceil(log2(scale))) }
                scales[tr * tilesAcross + tc] = scale
            }
        }
        var codes = [UInt8](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let s = scales[(r / tileRows) * tilesAcross + c / tileCols]
                codes[r * cols + c] = format.encode(values[r * cols + c] / s)
            }
        }
        return QuantizedMatrix(rows: rows, cols: cols, format: format, granularity: granularity,
                               codes: codes, scales: scales, tileRows: tileRows, tileCols: tileCols)
    }

    /// ‖Q(x) − x‖₂ / ‖x‖₂: the relative error quantisation adds to a tensor, optionally over
    /// the elements not in `excluding` (to see the damage outliers do to everything else).
    public static func relativeError(original: [Double], quantized: QuantizedMatrix, excluding: Set<Int> = []) -> Double {
        let deq = quantized.dequantized()
        var num = 0.0, den = 0.0
        for i in original.indices where !excluding.contains(i) {
            num += (deq[i] - original[i]) * (deq[i] - original[i])
            den += original[i] * original[i]
        }
        return den == 0 ? 0 : (num / den).squareRoot()
    }
}
