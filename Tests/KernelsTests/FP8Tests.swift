import Foundation
import Testing
@testable import Kernels
import Stochastic

@Suite struct FP8FormatTests {
    /// OCP OFP8 v1.0 Table 1: E4M3 max 448, min normal 2⁻⁶, min subnormal 2⁻⁹; E5M2 max 57,344,
    /// min normal 2⁻¹⁴, min subnormal 2⁻¹⁶.
    @Test func limitsMatchTheSpec() {
        #expect(FP8Format.e4m3.maxFinite == 448)
        #expect(FP8Format.e4m3.minNormal == pow(2, -6))
        #expect(FP8Format.e4m3.minSubnormal == pow(2, -9))
        #expect(FP8Format.e5m2.maxFinite == 57_344)
        #expect(FP8Format.e5m2.minNormal == pow(2, -14))
        #expect(FP8Format.e5m2.minSubnormal == pow(2, -16))
        #expect(FP8Format.e4m3.decode(0x7E) == 448 && FP8Format.e4m3.decode(0xFE) == -448)
        #expect(FP8Format.e4m3.decode(0x7F).isNaN && FP8Format.e4m3.decode(0xFF).isNaN)
        #expect(FP8Format.e5m2.decode(0x7C) == .infinity && FP8Format.e5m2.decode(0xFC) == -.infinity)
        #expect(FP8Format.e5m2.decode(0x7D).isNaN)
        #expect(FP8Format.e4m3.decode(0x01) == pow(2, -9))      // smallest subnormal
        #expect(FP8Format.e4m3.decode(0x08) == pow(2, -6))      // smallest normal
        #expect(FP8Format.e4m3.decode(0x38) == 1)
        #expect(FP8Format.e5m2.decode(0x3C) == 1)
    }

    /// Exhaustive over all 256 codes: every finite code round-trips; NaNs stay NaN; values are
    /// strictly increasing over the positive codes.
    @Test(arguments: [FP8Format.e4m3, FP8Format.e5m2])
    func everyCodeRoundTrips(format: FP8Format) {
        var finite = 0
        var previous = -Double.infinity
        for code in 0...255 {
            let c = UInt8(code)
            let v = format.decode(c)
            if v.isNaN { #expect(format.encode(v) == format.nanCode || format.isNaN(format.encode(v))); continue }
            if v.isInfinite { #expect(format.encode(v) == (v > 0 ? format.encode(format.maxFinite) : format.encode(-format.maxFinite))); continue }
            finite += 1
            if c == 0x80 { #expect(format.encode(-0.0) == 0x80); continue }
            #expect(format.encode(v) == c, "code \(code) value \(v)")
            if code < 0x80 { #expect(v > previous || code == 0); previous = v }
        }
        #expect(finite == (format == .e4m3 ? 254 : 248))
    }

    /// Halfway between neighbours rounds to the even code; beyond max saturates.
    @Test(arguments: [FP8Format.e4m3, FP8Format.e5m2])
    func roundsToNearestEvenAndSaturates(format: FP8Format) {
        for code in 0..<0x7F {
            let lo = format.decode(UInt8(code)), hi = format.decode(UInt8(code + 1))
            guard lo.isFinite, hi.isFinite, hi <= format.maxFinite else { continue }
            let mid = (lo + hi) / 2
            let even = code % 2 == 0 ? UInt8(code) : UInt8(code + 1)
            #expect(format.encode(mid) == even, "midpoint of codes \(code),\(code + 1)")
            #expect(format.encode(-mid) == even | 0x80)
            #expect(format.encode(lo + (hi - lo) * 0.25) == UInt8(code))
            #expect(format.encode(lo + (hi - lo) * 0.75) == UInt8(code + 1))
        }
        #expect(format.decode(format.encode(1e9)) == format.maxFinite)
        #expect(format.decode(format.encode(-.infinity)) == -format.maxFinite)
        #expect(format.decode(format.encode(format.minSubnormal / 2)) == 0)     // tie → even (zero)
        #expect(format.decode(format.encode(format.minSubnormal * 0.51)) == format.minSubnormal)
        #expect(format.isNaN(format.encode(.nan)))
    }
}

@Suite struct FP8ScalingTests {
    func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64) throws -> [Double] {
        let s = RandomStream(seed: seed)
        return try (0..<(rows * cols)).map { _ in try s.normal() }
    }

    @Test func tileScalesMapTheMaxToTheFormatMax() throws {
        let x = try randomMatrix(2, 256, seed: 1)
        let q = try FP8Quantizer.quantize(x, rows: 2, cols: 256, granularity: .tile1x128)
        #expect(q.scales.count == 4)
        let amax = x[0..<128].map(abs).max()!
        #expect(abs(q.scales[0] - amax / 448) < 1e-15)
        let t = try FP8Quantizer.quantize(try randomMatrix(256, 2, seed: 2), rows: 256, cols: 2, granularity: .tile128x1)
        #expect(t.scales.count == 4)
        let b = try FP8Quantizer.quantize(try randomMatrix(256, 256, seed: 3), rows: 256, cols: 256, granularity: .block128x128)
        #expect(b.scales.count == 4)
        let p = try FP8Quantizer.quantize(x, rows: 2, cols: 256, granularity: .tile1x128, powerOfTwoScales: true)
        #expect(p.scales.allSatisfy { log2($0) == log2($0).rounded() })
    }

    @Test func relativeQuantizationErrorOfE4M3IsAboutTwoPercent() throws {
        // E4M3 has 3 mantissa bits: relative rounding error up to 2⁻⁴ = 6.25%, rms about 2–3% on Gaussian data.
        let x = try randomMatrix(64, 1024, seed: 4)
        let e = FP8Quantizer.relativeError(original: x, quantized: try FP8Quantizer.quantize(x, rows: 64, cols: 1024, granularity: .tile1x128))
        #expect(e > 0.015 && e < 0.04)
    }

    /// V3 report §3.3.2: fine-grained scaling isolates outliers; per-tensor scaling lets one
    /// outlier crush every other value into the subnormal range.
    @Test func fineGrainedBeatsPerTensorWithOutliers() throws {
        var x = try randomMatrix(64, 1024, seed: 5)
        for r in stride(from: 0, to: 64, by: 8) { x[r * 1024 + 7] = 100_000 }          // an outlier channel
        let fine = FP8Quantizer.relativeError(original: x, quantized: try FP8Quantizer.quantize(x, rows: 64, cols: 1024, granularity: .tile1x128))
        let coarse = FP8Quantizer.relativeError(original: x, quantized: try FP8Quantizer.quantize(x, rows: 64, cols: 1024, granularity: .perTensor))
        let fineClean = try Self.errorExcludingOutliers(x, .tile1x128), coarseClean = try Self.errorExcludingOutliers(x, .perTensor)
        #expect(fineClean * 3 < coarseClean)
        #expect(fine <= coarse)
    }

    /// The relative quantization error of a 64 × 1,024 matrix over its values below 10,000 (not
    /// the outliers), where an outlier's scale does its damage.
    static func errorExcludingOutliers(_ x: [Double], _ g: ScalingGranularity) throws -> Double {
        let q = try FP8Quantizer.quantize(x, rows: 64, cols: 1024, granularity: g).dequantized()
        var num = 0.0, den = 0.0
        for i in x.indices where abs(x[i]) < 10_000 { num += (q[i] - x[i]) * (q[i] - x[i]); den += x[i] * x[i] }
        return (num / den).squareRoot()
    }

    /// MXFP8 (TE docs `mxfp8.rst` at 495739c): one power-of-two scale per 32 values, rounded up
    /// so the block's largest magnitude stays within E4M3's 448. A block whose largest value is
    /// 960 takes 2^⌈log2(960/448)⌉ = 4; one at 3 takes 2^⌈log2(3/448)⌉ = 2⁻⁷. Between
    /// 1×128 tiles and one scale per tensor, its error on the other values of an outlier-laden
    /// matrix is the least (an outlier crushes 31 neighbours instead of 127).
    @Test func microscalingScalesArePowersOfTwoPer32Values() throws {
        var row = [Double](repeating: 0.5, count: 64)
        row[3] = 960; row[40] = 3
        let q = try FP8Quantizer.quantize(row, rows: 1, cols: 64, granularity: .mx1x32)
        #expect(q.scales == [4, 1.0 / 128])
        let deq = q.dequantized()
        #expect(deq[3] == 960 && deq[40] == 3)            // 240 and 384 are E4M3 values
        var x = try randomMatrix(64, 1024, seed: 5)
        for r in stride(from: 0, to: 64, by: 8) { x[r * 1024 + 7] = 100_000 }
        let (mx, tile, tensor) = (try Self.errorExcludingOutliers(x, .mx1x32), try Self.errorExcludingOutliers(x, .tile1x128), try Self.errorExcludingOutliers(x, .perTensor))
        #expect(mx < tile && tile < tensor, "\(mx) \(tile) \(tensor)")
        #expect(throws: KernelError.self) { try FP8Quantizer.quantize([Double](repeating: 1, count: 48), rows: 1, cols: 48, granularity: .mx1x32) }
    }

    @Test func shapesThatAreNotWholeTilesAreRejected() {
        #expect(throws: KernelError.self) { try FP8Quantizer.quantize([Double](repeating: 1, count: 100), rows: 1, cols: 100, granularity: .tile1x128) }
        #expect(throws: KernelError.self) { try FP8Quantizer.quantize([1, 2, 3], rows: 2, cols: 2, granularity: .perTensor) }
    }
}

@Suite struct FP8GEMMTests {
    func product(k: Int, accumulation: Accumulation, seed: UInt64 = 1) throws -> GEMMError {
        let m = 16, n = 128
        let s = RandomStream(seed: seed)
        let a = try (0..<(m * k)).map { _ in try s.normal() }
        let b = try (0..<(k * n)).map { _ in try s.normal() }
        let qa = try FP8Quantizer.quantize(a, rows: m, cols: k, granularity: .tile1x128)
        let qb = try FP8Quantizer.quantize(b, rows: k, cols: n, granularity: .block128x128)
        let c = try FP8GEMMEmulator().multiply(qa, qb, accumulation: accumulation)
        return GEMMError(result: c, reference: FP8GEMMEmulator.reference(qa, qb))
    }

    /// V3 report §3.3.2: with K = 4096 and Hopper's limited accumulation the maximum relative
    /// error is nearly 2%; promotion every N_C = 128 elements removes most of it. The emulation
    /// follows ISCA 2025 §3.1.1's description of the tensor core; on Gaussian inputs it gives
    /// 0.8–0.9% (the published figure's inputs and error definition are not stated, see the
    /// note on issue 3), so the bound here is a factor of 2.5, and promotion must be ≥10× better.
    @Test("DeepSeek-V3 §3.3.2: ~2% max error at K=4096 (within 2.5×), promotion cuts it tenfold")
    func limitedAccumulationErrorAtK4096() throws {
        let limited = try product(k: 4096, accumulation: .limited)
        let promoted = try product(k: 4096, accumulation: .promoted(interval: 128))
        #expect(limited.maxRelativeError > 0.02 / 2.5 && limited.maxRelativeError < 0.04)
        #expect(promoted.maxRelativeError * 10 < limited.maxRelativeError)
    }

    /// Truncation only ever shrinks magnitudes: on non-negative inputs the limited accumulator
    /// always under-estimates, by a share that grows with K.
    @Test func truncationBiasesTowardZero() throws {
        let m = 4, n = 128, k = 1024
        let s = RandomStream(seed: 2)
        let a = try (0..<(m * k)).map { _ in abs(try s.normal()) }
        let b = try (0..<(k * n)).map { _ in abs(try s.normal()) }
        let qa = try FP8Quantizer.quantize(a, rows: m, cols: k, granularity: .tile1x128)
        let qb = try FP8Quantizer.quantize(b, rows: k, cols: n, granularity: .block128x128)
        let c = try FP8GEMMEmulator().multiply(qa, qb, accumulation: .limited)
        let ref = FP8GEMMEmulator.reference(qa, qb)
        #expect(zip(c, ref).allSatisfy { $0 <= $1 })
    }

    @Test func errorGrowsWithK() throws {
        let short = try product(k: 512, accumulation: .limited)
        let long = try product(k: 4096, accumulation: .limited)
        #expect(long.meanRelativeError > 2 * short.meanRelativeError)
    }

    @Test func badShapesAndIntervalsAreRejected() throws {
        let q = try FP8Quantizer.quantize([Double](repeating: 1, count: 128), rows: 1, cols: 128, granularity: .tile1x128)
        #expect(throws: KernelError.self) { try FP8GEMMEmulator().multiply(q, q, accumulation: .limited) }
        let b = try FP8Quantizer.quantize([Double](repeating: 1, count: 128 * 128), rows: 128, cols: 128, granularity: .block128x128)
        #expect(throws: KernelError.self) { try FP8GEMMEmulator().multiply(q, b, accumulation: .promoted(interval: 100)) }
        #expect(throws: KernelError.self) { try FP8GEMMEmulator().multiply(q, b, accumulation: .promoted(interval: 256)) }
        #expect(try FP8GEMMEmulator().multiply(q, b, accumulation: .promoted(interval: 128)).count == 128)
    }
}

