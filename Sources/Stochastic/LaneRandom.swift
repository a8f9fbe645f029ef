import SimCore

/// Eight independent xoshiro128+ generators advanced together, one per SIMD lane.
///
/// xoshiro128+ (Blackman and Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS
/// 47(4), 2021) is the authors' recommended 32-bit generator for floating-point numbers: its
/// upper bits pass BigCrush, and one step is four xors, two shifts, a rotation and an add, all of
/// which vectorise. This is the generator of the synthetic router (67 M affinities per DeepSeek-V3
/// EP group and step), where GSL's MT19937 behind a C call per draw cost more than the routing.
/// Lanes are seeded from SplitMix64, as the authors advise, so one 64-bit seed fixes all eight.
public struct LaneRandom: Sendable {
    @usableFromInline var s0, s1, s2, s3: SIMD8<UInt32>

    public init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        var words = [UInt32]()
        for _ in 0..<16 {
            let x = mixer.next()
            words.append(UInt32(truncatingIfNeeded: x))
            words.append(UInt32(truncatingIfNeeded: x >> 32))
        }
        func lane(_ k: Int) -> SIMD8<UInt32> { SIMD8((0..<8).map { words[8 * k + $0] }) }
        s0 = lane(0); s1 = lane(1); s2 = lane(2); s3 = lane(3)
        // An all-zero state never leaves zero; SplitMix64 practically never gives one, but make sure.
        let zero = (s0 | s1 | s2 | s3) .== SIMD8<UInt32>(repeating: 0)
        s0.replace(with: 1, where: zero)
    }

    /// The next eight 32-bit outputs.
    @inlinable @inline(__always)
    public mutating func next() -> SIMD8<UInt32> {
        let result = s0 &+ s3
        let t = s1 &<< 9
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 &<< 11) | (s3 &>> 21)
        return result
    }

    /// Eight uniform variates in (0, 1): the top 23 bits k of each output give (k + ½)·2⁻²³,
    /// which is exact in `Float` and never 0 or 1.
    @inlinable @inline(__always)
    public mutating func nextUniformPositive() -> SIMD8<Float> {
        let bits = SIMD8<Int32>(truncatingIfNeeded: next() &>> 9)
        return (SIMD8<Float>(bits) + 0.5) * 0x1p-23
    }
}

/// 32-bit words taken one at a time from a `LaneRandom`'s eight-lane draws (lane 7 first), and
/// uniform integers made from them.
public struct LaneWords: Sendable {
    public var random: LaneRandom
    @usableFromInline var lanes = SIMD8<UInt32>()
    @usableFromInline var left = 0

    public init(random: LaneRandom) { self.random = random }

    @inlinable @inline(__always)
    public mutating func word() -> UInt32 {
        if left == 0 { lanes = random.next(); left = 8 }
        left -= 1
        return lanes[left]
    }

    /// A uniform integer in 0..<n (n ≥ 1), exactly: Lemire's multiply-shift on one word,
    /// rejecting the low products that would bias it (ACM TOMS 2019). A low word at or above n is
    /// never in the biased range (2³² mod n < n), so the threshold is only computed, out of line,
    /// in the rare other case.
    @inlinable @inline(__always)
    public mutating func integer(below n: Int) -> Int {
        let bound = UInt32(truncatingIfNeeded: n)
        let product = UInt64(word()) * UInt64(bound)
        if UInt32(truncatingIfNeeded: product) >= bound { return Int(product >> 32) }
        return integerChecked(product: product, bound: bound)
    }

    /// The rare case of `integer(below:)`: compare with 2³² mod n, drawing again while biased.
    @inlinable @inline(never)
    mutating func integerChecked(product first: UInt64, bound: UInt32) -> Int {
        let threshold = (0 &- bound) % bound
        var product = first
        while UInt32(truncatingIfNeeded: product) < threshold { product = UInt64(word()) * UInt64(bound) }
        return Int(product >> 32)
    }
}
