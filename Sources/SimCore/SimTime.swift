/// Simulated time: an integer count of picoseconds since the start of a simulation.
///
/// Integer time makes every run reproducible bit for bit: no two platforms round a sum of
/// event durations differently. `Int64` picoseconds cover ±106 days, far more than one training
/// step (about 20 s); whole-run projections multiply step times in floating point outside the
/// engine.
public struct SimTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Picoseconds since time zero.
    public var picoseconds: Int64

    @inlinable public init(picoseconds: Int64) { self.picoseconds = picoseconds }

    public static let zero = SimTime(picoseconds: 0)
    /// The largest representable time, used as "never".
    public static let never = SimTime(picoseconds: .max)

    /// Picoseconds per second.
    public static let picosecondsPerSecond: Int64 = 1_000_000_000_000

    /// A time from seconds, rounded to the nearest picosecond.
    /// - Precondition: `seconds` is finite and non-negative and below about 106 days.
    @inlinable public static func seconds(_ seconds: Double) -> SimTime {
        precondition(seconds.isFinite && seconds >= 0, "SimTime.seconds needs a finite non-negative value, got \(seconds)")
        return SimTime(picoseconds: Int64((seconds * 1e12).rounded()))
    }
    @inlinable public static func microseconds(_ us: Double) -> SimTime { .seconds(us * 1e-6) }
    @inlinable public static func nanoseconds(_ ns: Int64) -> SimTime { SimTime(picoseconds: ns * 1000) }

    /// This time in seconds (floating point, for reporting only).
    @inlinable public var seconds: Double { Double(picoseconds) * 1e-12 }

    @inlinable public static func < (a: SimTime, b: SimTime) -> Bool { a.picoseconds < b.picoseconds }
    @inlinable public static func + (a: SimTime, b: SimTime) -> SimTime { SimTime(picoseconds: a.picoseconds + b.picoseconds) }
    @inlinable public static func - (a: SimTime, b: SimTime) -> SimTime { SimTime(picoseconds: a.picoseconds - b.picoseconds) }
    @inlinable public static func += (a: inout SimTime, b: SimTime) { a.picoseconds += b.picoseconds }

    public var description: String {
        let s = seconds
        if s >= 1 { return String(format: "%.6f s", s) }
        if s >= 1e-3 { return String(format: "%.3f ms", s * 1e3) }
        if s >= 1e-6 { return String(format: "%.3f µs", s * 1e6) }
        return "\(picoseconds) ps"
    }
}

import Foundation
