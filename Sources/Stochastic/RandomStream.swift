@preconcurrency import CGSL
import SimCore

/// A seeded stream of random numbers backed by GSL's MT19937 generator.
///
/// Streams are splittable: `split("router")` derives an independent child stream whose seed is a
/// SplitMix64 hash of the parent seed and the label, so every simulation component gets its own
/// stream from the one experiment seed, and adding a component never shifts another's numbers.
/// A stream is stateful and single-threaded: give each component (and each thread) its own.
///
/// GSL's default error handler aborts the process; it is switched off once, and every argument is
/// checked before GSL sees it, so bad input becomes a `StochasticError`.
public final class RandomStream {
    /// The seed this stream was created with.
    public let seed: UInt64
    @usableFromInline let rng: UnsafeMutablePointer<gsl_rng>

    public init(seed: UInt64) {
        GSLSetup.disableAbortHandler()
        self.seed = seed
        // GSL exposes generator types as global C variables; this one is never written.
        rng = gsl_rng_alloc(gsl_rng_mt19937)
        // MT19937 in GSL takes an unsigned long seed; 0 selects GSL's default seed, so map it away.
        gsl_rng_set(rng, UInt(truncatingIfNeeded: seed == 0 ? 0x5EED : seed))
    }

    deinit { gsl_rng_free(rng) }

    /// An independent child stream for the component named `label`.
    public func split(_ label: String) -> RandomStream {
        RandomStream(seed: Self.derive(seed: seed, label: label))
    }

    /// An independent child stream for the `index`-th member of a family (rank, link…).
    public func split(_ label: String, index: Int) -> RandomStream {
        RandomStream(seed: Self.derive(seed: seed, label: label, index: index))
    }

    /// The seed of the `index`-th child of the family `label` (what `split(_:index:)` seeds),
    /// for generators other than this one.
    public static func derive(seed: UInt64, label: String, index: Int) -> UInt64 {
        derive(seed: derive(seed: seed, label: label), label: String(index))
    }

    /// The child seed for a label: FNV-1a of the label's UTF-8 bytes, mixed with the parent seed
    /// through two rounds of SplitMix64. Stable across platforms and releases.
    public static func derive(seed: UInt64, label: String) -> UInt64 {
        var mixer = SplitMix64(seed: seed ^ FNV1a.hash(label))
        _ = mixer.next()
        return mixer.next()
    }

    // MARK: Uniform

    /// A uniform variate in [0, 1).
    @inlinable public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// A uniform variate in (0, 1), never exactly 0.
    @inlinable public func uniformPositive() -> Double { gsl_rng_uniform_pos(rng) }

    /// A uniform variate in [low, high).
    public func uniform(_ low: Double, _ high: Double) throws -> Double {
        try StochasticError.require(low.isFinite && high.isFinite && low < high, "range", "[\(low), \(high))", "finite with low < high")
        return gsl_ran_flat(rng, low, high)
    }

    /// A uniform integer in 0..<upperBound.
    public func integer(below upperBound: Int) throws -> Int {
        try StochasticError.require(upperBound > 0, "upperBound", upperBound, "> 0")
        return Int(gsl_rng_uniform_int(rng, UInt(upperBound)))
    }
}

/// Process-wide GSL setup, done once.
enum GSLSetup {
    private static let once: Void = { _ = gsl_set_error_handler_off() }()
    static func disableAbortHandler() { _ = once }
}
