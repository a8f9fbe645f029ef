import Foundation

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): a tiny, fast 64-bit generator, used where a
/// dependency on GSL would be out of place: the engine's hold benchmark, seed derivation
/// (`RandomStream.derive`) and seeding the router's `LaneRandom` lanes.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// The generator's increment (the golden ratio × 2⁶⁴).
    public static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inlinable public mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.mix(state)
    }

    /// The `index`-th output (1-based) of the generator seeded with `seed`, without drawing the
    /// ones before it: a stateless hash of (seed, index).
    public static func output(seed: UInt64, index: UInt64) -> UInt64 {
        mix(seed &+ gamma &* index)
    }

    /// SplitMix64's finaliser.
    @inlinable public static func mix(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An exponential variate with the given mean, in whole picoseconds (at least 1).
    @inlinable public mutating func exponentialPicoseconds(mean: Double) -> Int64 {
        let u = (Double(next() >> 11) + 0.5) * 0x1p-53   // in (0, 1)
        return Swift.max(1, Int64(-mean * Foundation.log(u)))
    }
}
