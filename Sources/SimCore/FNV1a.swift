/// FNV-1a, 64-bit (Fowler, Noll, Vo): a stable hash of bytes, the same on every platform and
/// release — for deriving seeds from labels and for identifying experiment files.
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    public static func hash(_ text: String) -> UInt64 {
        hash(bytes: text.utf8)
    }

    /// The hash of `bytes`, continuing from `state` (a previous hash) so that several pieces
    /// hash as their concatenation.
    public static func hash(bytes: some Sequence<UInt8>, continuing state: UInt64 = offsetBasis) -> UInt64 {
        var h = state
        for byte in bytes { h = (h ^ UInt64(byte)) &* prime }
        return h
    }
}
