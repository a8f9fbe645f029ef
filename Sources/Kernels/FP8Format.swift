import Foundation

/// An 8-bit floating-point format (OCP "OFP8" spec v1.0, 2023; NVIDIA Hopper FP8).
///
/// - E4M3 ("E4M3FN"): 4 exponent bits, bias 7, 3 mantissa bits; no infinities; the only NaN
///   codes are S.1111.111; largest finite 448; smallest subnormal 2⁻⁹. DeepSeek-V3 uses E4M3 for
///   every tensor (report §3.3.2).
/// - E5M2: 5 exponent bits, bias 15, 2 mantissa bits; IEEE-style infinities and NaNs;
///   largest finite 57,344; smallest subnormal 2⁻¹⁶.
///
/// Encoding rounds to nearest, ties to even, and saturates to the largest finite value (the
/// `satfinite` conversion DeepSeek's kernels use); NaN stays NaN. Decoding is exact.
public struct FP8Format: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let exponentBits: Int
    public let mantissaBits: Int
    public let bias: Int
    /// IEEE-style infinities and NaNs in the top binade (E5M2); otherwise only S.1111.111 is NaN (E4M3).
    public let ieeeSpecials: Bool

    public static let e4m3 = FP8Format(name: "E4M3", exponentBits: 4, mantissaBits: 3, bias: 7, ieeeSpecials: false)
    public static let e5m2 = FP8Format(name: "E5M2", exponentBits: 5, mantissaBits: 2, bias: 15, ieeeSpecials: true)

    public var description: String { name }

    /// Largest finite value: 448 (E4M3), 57,344 (E5M2).
    public var maxFinite: Double {
        let maxExponentField = (1 << exponentBits) - (ieeeSpecials ? 2 : 1)
        let maxMantissa = ieeeSpecials ? (1 << mantissaBits) - 1 : (1 << mantissaBits) - 2
        return (1 + Double(maxMantissa) / Double(1 << mantissaBits)) * pow(2, Double(maxExponentField - bias))
    }

    /// Smallest positive normal value, 2^(1−bias).
    public var minNormal: Double { pow(2, Double(1 - bias)) }
    /// Smallest positive subnormal value, 2^(1−bias−mantissaBits).
    public var minSubnormal: Double { pow(2, Double(1 - bias - mantissaBits)) }

    /// The canonical NaN code.
    public var nanCode: UInt8 { 0x7F }

    /// Whether `code` is a NaN.
    public func isNaN(_ code: UInt8) -> Bool {
        let exponentField = Int(code >> mantissaBits) & ((1 << exponentBits) - 1)
        let mantissa = Int(code) & ((1 << mantissaBits) - 1)
        if ieeeSpecials { return exponentField == (1 << exponentBits) - 1 && mantissa != 0 }
        return exponentField == (1 << exponentBits) - 1 && mantissa == (1 << mantissaBits) - 1
    }

    /// The exact value of `code` (±∞ for E5M2 infinity codes, NaN for NaN codes).
    public func decode(_ code: UInt8) -> Double {
        let negative = code & 0x80 != 0
        let exponentField = Int(code >> mantissaBits) & ((1 << exponentBits) - 1)
        let mantissa = Int(code) & ((1 << mantissaBits) - 1)
        if isNaN(code) { return .nan }
        if ieeeSpecials, exponentField == (1 << exponentBits) - 1 { return negative ? -.infinity : .infinity }
        let magnitude: Double
        if exponentField == 0 {
            magnitude = Double(mantissa) * minSubnormal
        } else {
            magnitude = (1 + Double(mantissa) / Double(1 << mantissaBits)) * pow(2, Double(exponentField - bias))
        }
        return negative ? -magnitude : magnitude
    }

    /// The code nearest to `x` (ties to even), saturating at ±`maxFinite`; NaN → NaN.
    public func encode(_ x: Double) -> UInt8 {
        if x.isNaN { return nanCode }
        let sign: UInt8 = x.sign == .minus ? 0x80 : 0
        var magnitude = Swift.min(abs(x), maxFinite)      // satfinite: ±∞ and overflow clamp
        if magnitude == 0 { return sign }
        // Quantum of the binade holding `magnitude` (subnormal spacing below minNormal).
        let exponent = Swift.max(Int(magnitude.exponent), 1 - bias)
        let quantum = pow(2, Double(exponent - mantissaBits))
        magnitude = (magnitude / quantum).rounded(.toNearestOrEven) * quantum
        magnitude = Swift.min(magnitude, maxFinite)
        if magnitude == 0 { return sign }
        if magnitude < minNormal {
            return sign | UInt8(Int(magnitude / minSubnormal))
        }
        let e = Int(magnitude.exponent)
        let mantissa = Int((magnitude / pow(2, Double(e)) - 1) * Double(1 << mantissaBits))
        return sign | UInt8(((e + bias) << mantissaBits) | mantissa)
    }

    /// `x` rounded to the nearest representable value (encode then decode).
    public func quantize(_ x: Double) -> Double { decode(encode(x)) }
}
