/// Walker's alias method in Vose's construction ("A linear algorithm for generating random
/// numbers with a given distribution", IEEE TSE 17(9), 1991): a categorical draw in O(1) from
/// one uniform index and one uniform fraction, with no data-dependent branch (the compare
/// selects). Fractions are kept to 48 bits, so each category's probability is honoured to
/// 2⁻⁴⁸ per column (≈ 4·10⁻¹⁵).
public struct AliasTable: Sendable {
    /// Per column: keep the column when the 48-bit fraction is below this, else take the alias.
    @usableFromInline let keep: [UInt64]
    @usableFromInline let alias: [Int32]
    public var count: Int { keep.count }

    /// `weights` need not sum to 1; they must be finite, non-negative and not all zero.
    public init(weights: [Double]) throws {
        try StochasticError.require(!weights.isEmpty, "weights", "[]", "non-empty")
        for w in weights { try StochasticError.require(w >= 0 && w.isFinite, "weight", w, "finite and >= 0") }
        let total = weights.reduce(0, +)
        try StochasticError.require(total > 0, "weights", "all zero", "not all zero")
        let m = weights.count
        var scaled = weights.map { $0 / total * Double(m) }
        var keep = [UInt64](repeating: 1 << 48, count: m), alias = (0..<m).map(Int32.init)
        var small = scaled.indices.filter { scaled[$0] < 1 }, large = scaled.indices.filter { scaled[$0] >= 1 }
        while let s = small.popLast(), let l = large.popLast() {
            keep[s] = UInt64((scaled[s] * 0x1p48).rounded())
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { small.append(l) } else { large.append(l) }
        }
        // Left-overs are 1 up to rounding: they keep their column.
        self.keep = keep
        self.alias = alias
    }

    /// A category drawn from `words`.
    @inlinable @inline(__always)
    public func draw(_ words: inout LaneWords) -> Int {
        let column = words.integer(below: keep.count)
        // 48 bits from the top 24 of two words: xoshiro128+'s lowest bits have low linear
        // complexity (Blackman and Vigna §10), so they are dropped, as for floating-point values.
        let fraction = UInt64(words.word() >> 8) << 24 | UInt64(words.word() >> 8)
        return fraction < keep[column] ? column : Int(alias[column])
    }
}
