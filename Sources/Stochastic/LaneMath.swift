/// Natural logarithm and exponential of eight `Float`s at once, for the synthetic router's
/// order statistics (`OrderStatisticGate`), where libm's scalar calls would cost more than the
/// routing they feed.
///
/// Both reduce the argument by powers of two and evaluate a short series on the remainder:
/// - log: x = 2^e · m with m in [√½, √2); ln m = 2·atanh(z), z = (m − 1)/(m + 1), |z| ≤ 0.1716,
///   summed to z⁹ (first term left out z¹¹/11 < 7·10⁻¹⁰ absolute).
/// - exp: x = n·ln 2 + r with |r| ≤ ½·ln 2 (ln 2 split in two parts so that r is exact to
///   float precision); e^r by Taylor to r⁷ (remainder < 6·10⁻⁹ relative); 2ⁿ put into the
///   exponent bits.
/// Results are within a few units in the last place of `Foundation.log`/`exp` (a test checks
/// 3·10⁻⁷ relative over the ranges the router uses). Defined for normal positive arguments
/// (log) and arguments in [−87, 88] (exp); the router stays far inside both.
public enum LaneMath {
    /// ln x for normal, positive `Float`s.
    @inlinable @inline(__always)
    public static func log(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        var exponent = SIMD8<Int32>(truncatingIfNeeded: bits &>> 23) &- 127
        var m = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F80_0000, to: SIMD8<Float>.self)
        let high = m .> 1.41421356
        m.replace(with: m * 0.5, where: high)
        exponent.replace(with: exponent &+ 1, where: high)
        let z: SIMD8<Float> = (m - 1) / (m + 1), w: SIMD8<Float> = z * z
        // 1 + w/3 + w²/5 + w³/7 + w⁴/9, by Horner.
        var series = w * (1 / 9 as Float) + (1 / 7 as Float)
        series = series * w + (1 / 5 as Float)
        series = series * w + (1 / 3 as Float)
        series = series * w + (1 as Float)
        let lnM: SIMD8<Float> = 2 * z * series
        return float(exponent) * (0.693147180559945 as Float) + lnM
    }

    /// e^x for x in [−87, 88].
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Round x/ln 2 to the nearest integer by adding and removing 1.5·2²³: the sum's low
        // mantissa bits then hold that integer in two's complement.
        let shifted: SIMD8<Float> = x * (1.44269504088896 as Float) + magic
        let n: SIMD8<Float> = shifted - magic
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- magicBits
        // ln 2 = 0.693359375 − 2.12194440·10⁻⁴: the first part has few bits, so n·part is exact.
        let r: SIMD8<Float> = (x - n * (0.693359375 as Float)) + n * (2.12194440e-4 as Float)
        // Σ rᵏ/k! for k ≤ 7, by Horner.
        var p = r * (1 / 5040 as Float) + (1 / 720 as Float)
        p = p * r + (1 / 120 as Float)
        p = p * r + (1 / 24 as Float)
        p = p * r + (1 / 6 as Float)
        p = p * r + (0.5 as Float)
        p = p * r + (1 as Float)
        p = p * r + (1 as Float)
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * scale
    }

    /// 1.5·2²³ and its bit pattern: adding it to a `Float` of magnitude below 2²² rounds it to an
    /// integer held in the low mantissa bits (the standard's round-to-nearest-even), which
    /// converts between `Int32` and `Float` lanes without the generic SIMD conversions (they are
    /// not specialised and cost more than the series).
    @usableFromInline static let magic: Float = 12_582_912
    @usableFromInline static let magicBits: Int32 = 0x4B40_0000

    /// Small integers (|k| < 2²²) as `Float`s.
    @inlinable @inline(__always)
    public static func float(_ k: SIMD8<Int32>) -> SIMD8<Float> {
        unsafeBitCast(k &+ magicBits, to: SIMD8<Float>.self) - magic
    }
}

extension LaneRandom {
    /// Eight standard exponential variates, −ln u for u uniform in (0, 1) (always > 0).
    @inlinable @inline(__always)
    public mutating func nextExponential() -> SIMD8<Float> {
        -LaneMath.log(nextUniformPositive())
    }
}
