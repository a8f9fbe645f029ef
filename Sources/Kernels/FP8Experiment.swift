import Stochastic

/// The FP8 GEMM accuracy experiment behind `llmsim fp8 gemm`: random Gaussian inputs (optionally
/// with outlier channels), quantised as DeepSeek-V3 does (activations 1×128, weights 128×128),
/// multiplied by the emulated tensor core, compared with FP64 on the same quantised inputs.
public struct FP8GEMMExperiment: Sendable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var accumulation: Accumulation
    public var seed: UInt64
    /// Every this-many-th activation row gets one channel scaled by `outlierMagnitude` (0 = none).
    public var outlierMagnitude: Double

    public init(m: Int, n: Int, k: Int, accumulation: Accumulation, seed: UInt64 = 1, outlierMagnitude: Double = 0) {
        self.m = m; self.n = n; self.k = k
        self.accumulation = accumulation
        self.seed = seed
        self.outlierMagnitude = outlierMagnitude
    }

    public struct Result: Sendable, Codable, Equatable {
        public var m: Int
        public var n: Int
        public var k: Int
        public var accumulator: String
        public var promotionInterval: Int?
        /// Max and mean relative error of the product (see `GEMMError` for the definition).
        public var maxRelativeError: Double
        public var meanRelativeError: Double
        /// ‖Q(x) − x‖ / ‖x‖ over both inputs (outlier elements excluded) with fine-grained
        /// scaling (1×128 and 128×128).
        public var quantizationRelativeError: Double
        /// The same with one scale per tensor, for comparison.
        public var perTensorQuantizationRelativeError: Double
        /// The same with MXFP8's E8M0 scales per 32 values along K (Transformer Engine's recipe
        /// on Blackwell: 1×32 for A, 32×1 for B).
        public var microscalingQuantizationRelativeError: Double
        public var errorDefinition: String
    }

    public func run() throws -> Result {
        for (name, value) in [("m", m), ("n", n), ("k", k)] where value <= 0 {
            throw KernelError("--\(name)", "must be > 0, got \(value)", fix: "give a positive size")
        }
        if k % 128 != 0 { throw KernelError("--k", "K = \(k) is not a multiple of the 128-wide scaling tile", fix: "use a multiple of 128, e.g. 4096") }
        if n % 128 != 0 { throw KernelError("--n", "N = \(n) is not a multiple of the 128×128 weight block", fix: "use a multiple of 128") }
        let stream = RandomStream(seed: seed)
        let inputs = stream.split("inputs")
        var a = try (0..<(m * k)).map { _ in try inputs.normal() }
        let b = try (0..<(k * n)).map { _ in try inputs.normal() }
        var outliers = Set<Int>()
        if outlierMagnitude > 0 {
            for r in stride(from: 0, to: m, by: 8) { a[r * k + 7] *= outlierMagnitude; outliers.insert(r * k + 7) }
        }
        let qa = try FP8Quantizer.quantize(a, rows: m, cols: k, granularity: .tile1x128)
        let qb = try FP8Quantizer.quantize(b, rows: k, cols: n, granularity: .block128x128)
        let product = try FP8GEMMEmulator().multiply(qa, qb, accumulation: accumulation)
        let error = GEMMError(result: product, reference: FP8GEMMEmulator.reference(qa, qb))
        let ta = try FP8Quantizer.quantize(a, rows: m, cols: k, granularity: .perTensor)
        let tb = try FP8Quantizer.quantize(b, rows: k, cols: n, granularity: .perTensor)
        let ma = try FP8Quantizer.quantize(a, rows: m, cols: k, granularity: .mx1x32)
        let mb = try FP8Quantizer.quantize(b, rows: k, cols: n, granularity: .mx32x1)
        func combined(_ qa: QuantizedMatrix, _ qb: QuantizedMatrix) -> Double {
            let ea = FP8Quantizer.relativeError(original: a, quantized: qa, excluding: outliers)
            let eb = FP8Quantizer.relativeError(original: b, quantized: qb)
            let na = a.indices.reduce(0) { outliers.contains($1) ? $0 : $0 + a[$1] * a[$1] }, nb = b.reduce(0) { $0 + $1 * $1 }
            return ((ea * ea * na + eb * eb * nb) / (na + nb)).squareRoot()
        }
        var interval: Int?
        if case .promoted(let i) = accumulation { interval = i }
        return Result(m: m, n: n, k: k, accumulator: interval == nil ? "limited" : "promoted", promotionInterval: interval,
                      maxRelativeError: error.maxRelativeError, meanRelativeError: error.meanRelativeError,
                      quantizationRelativeError: combined(qa, qb), perTensorQuantizationRelativeError: combined(ta, tb),
                      microscalingQuantizationRelativeError: combined(ma, mb),
                      errorDefinition: "|C - C_ref| / max(|C_ref|, rms(C_ref)) per output; C_ref = FP64 product of the same FP8 inputs")
    }
}
