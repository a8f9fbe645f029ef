import Foundation

/// How the emulated tensor core accumulates.
public enum Accumulation: Sendable, Equatable {
    /// Hopper's FP8 WGMMA accumulator keeps about 13 fraction bits ("FP22": 1 sign, 8 exponent,
    /// 13 mantissa bits; ISCA 2025 §3.1.1; V3 report §3.3.2 says ~14 bits) and truncates every
    /// addition, over the whole K.
    case limited
    /// DeepSeek-V3's fix (§3.3.2): every `interval` elements of K (N_C = 128, four WGMMAs), the
    /// partial sum is scaled and added to an FP32 accumulator on CUDA cores.
    case promoted(interval: Int)
}

/// Emulates an FP8 GEMM on Hopper with DeepSeek-V3's fine-grained scaling: A (M×K activations,
/// 1×128 tiles) times B (K×N weights, 128×128 blocks).
///
/// Model of the tensor core, as ISCA 2025 §3.1.1 describes Hopper: one FP8 WGMMA instruction
/// covers K = 32 (PTX ISA, `wgmma.mma_async` with `.e4m3` inputs). Its 32 products are aligned
/// by right-shifting to the largest product exponent, only the highest 13 fraction bits of each
/// are kept (the rest truncated), the aligned products are added, and the sum is accumulated in
/// an "FP22" register (1 sign, 8 exponent, 13 mantissa bits, truncated). With promotion, the accumulator is emptied every `interval` elements into an FP32
/// sum on CUDA cores with IEEE round-to-nearest (V3 report §3.3.2). The emulation applies the
/// tile scales to the products (exact for power-of-two scales) so that one code path serves any
/// promotion interval; the relative truncation error is the same.
public struct FP8GEMMEmulator: Sendable {
    /// K per WGMMA instruction for FP8 inputs.
    public static let instructionK = 32
    /// Fraction bits kept by the limited-precision accumulator.
    public var accumulatorFractionBits = 13
    /// Products aligned and added together before each accumulator update: 32, one WGMMA
    /// instruction's K, as ISCA 2025 §3.1.1 describes. A divisor of 32.
    public var productsPerAddition = 32

    public init(productsPerAddition: Int = 32) {
        self.productsPerAddition = productsPerAddition
    }

    /// C = A·B on quantised inputs, M×N row-major.
    public func multiply(_ a: QuantizedMatrix, _ b: QuantizedMatrix, accumulation: Accumulation) throws -> [Double] {
        guard a.cols == b.rows else {
            throw KernelError("shape", "A is \(a.rows)×\(a.cols) but B is \(b.rows)×\(b.cols)", fix: "A's columns must equal B's rows (K)")
        }
        let m = a.rows, n = b.cols, k = a.cols
        if case .promoted(let interval) = accumulation {
            guard interval > 0, interval % Self.instructionK == 0, k % interval == 0 else {
                throw KernelError("interval", "\(interval) is not a positive multiple of \(Self.instructionK) dividing K = \(k)",
                                  fix: "use a promotion interval such as 128 (four WGMMAs)")
            }
        }
        guard k % Self.instructionK == 0 else {
            throw KernelError("k", "K = \(k) is not a multiple of \(Self.instructionK)", fix: "pad K to a multiple of 128")
        }
        let tableA = (0..<256).map { a.format.decode(UInt8($0)) }
        let tableB = (0..<256).map { b.format.decode(UInt8($0)) }
        // B transposed to column-major values so the inner loop runs over contiguous memory.
        var bt = [Double](repeating: 0, count: k * n)
        for kk in 0..<k { for j in 0..<n { bt[j * k + kk] = tableB[Int(b.codes[kk * n + j])] } }
        var av = [Double](repeating: 0, count: m * k)
        for i in 0..<(m * k) { av[i] = tableA[Int(a.codes[i])] }
        let interval: Int
        if case .promoted(let i) = accumulation { interval = i } else { interval = Int.max }
        let chunk = productsPerAddition
        guard chunk > 0, Self.instructionK % chunk == 0 else {
            throw KernelError("productsPerAddition", "\(chunk) does not divide the WGMMA K of \(Self.instructionK)", fix: "use 32, 16, 8, 4, 2 or 1")
        }
        let keepMask: UInt64 = ~((UInt64(1) << UInt64(52 - accumulatorFractionBits)) - 1)
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var fp32Sum: Float = 0
                var acc = 0.0
                var kk = 0
                while kk < k {
                    let scale = a.scale(row: i, col: kk) * b.scale(row: kk, col: j)
                    // Largest exponent among the instruction's 32 products.
                    var maxExponent = Int.min
                    for t in kk..<(kk + chunk) {
                        let p = av[i * k + t] * bt[j * k + t] * scale
                        if p != 0 { maxExponent = Swift.max(maxExponent, Int(p.exponent)) }
                    }
                    if maxExponent != Int.min {
                        // Keep each product to multiples of 2^(E − 13) (truncation toward zero),
                        // add them, then add to the accumulator and store it as FP22 (truncated).
                        let quantum = Double(sign: .plus, exponent: maxExponent - accumulatorFractionBits, significand: 1)
                        var sum = 0.0
                        for t in kk..<(kk + chunk) {
                            sum += (av[i * k + t] * bt[j * k + t] * scale / quantum).rounded(.towardZero) * quantum
                        }
                        acc = Double(bitPattern: (acc + sum).bitPattern & keepMask)
                    }
                    kk += chunk
                    if kk % interval == 0 {
                        fp32Sum += Float(acc)       // promotion: add on CUDA cores
                        acc = 0
                    }
                }
                c[i * n + j] = interval == Int.max ? Double(Float(acc)) : Double(fp32Sum)
            }
        }
        return c
    }

    /// The same product in FP64 on the same quantised inputs: the reference.
    public static func reference(_ a: QuantizedMatrix, _ b: QuantizedMatrix) -> [Double] {
        let av = a.dequantized(), bv = b.dequantized()
        let m = a.rows, n = b.cols, k = a.cols
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for kk in 0..<k {
                let x = av[i * k + kk]
                for j in 0..<n { c[i * n + j] += x * bv[kk * n + j] }
            }
        }
        return c
    }
}

/// Error of an emulated product against its FP64 reference.
///
/// Definition: for each output, |C − C_ref| / max(|C_ref|, rms(C_ref)). This is the ordinary
/// relative error, with the denominator floored at the root-mean-square of the reference output
/// so that outputs that happen to lie near zero (where any absolute error is a huge relative
/// one) cannot dominate the maximum.
public struct GEMMError: Sendable, Codable, Equatable {
    public var maxRelativeError: Double
    public var meanRelativeError: Double

    public init(result: [Double], reference: [Double]) {
        let rms = (reference.reduce(0) { $0 + $1 * $1 } / Double(max(reference.count, 1))).squareRoot()
        var maxError = 0.0, sum = 0.0
        for i in reference.indices {
            let e = abs(result[i] - reference[i]) / max(abs(reference[i]), rms, .leastNormalMagnitude)
            maxError = max(maxError, e)
            sum += e
        }
        maxRelativeError = maxError
        meanRelativeError = sum / Double(max(reference.count, 1))
    }
}
