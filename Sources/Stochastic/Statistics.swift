import CGSL

/// Summary statistics of a sample, computed with GSL.
public struct Summary: Sendable, Codable, Equatable {
    public var count: Int
    public var mean: Double
    /// Sample standard deviation (n − 1 in the denominator); 0 for a single value.
    public var standardDeviation: Double
    public var min: Double
    public var max: Double
    public var median: Double
    public var p90: Double
    public var p99: Double

    /// Summarises `values`, which must be non-empty and finite.
    public init(_ values: [Double]) throws {
        try StochasticError.require(!values.isEmpty, "values", "[]", "non-empty")
        for v in values { try StochasticError.require(v.isFinite, "value", v, "finite") }
        let sorted = values.sorted()
        count = values.count
        let m = sorted.withUnsafeBufferPointer { gsl_stats_mean($0.baseAddress, 1, $0.count) }
        mean = m
        standardDeviation = count > 1
            ? sorted.withUnsafeBufferPointer { gsl_stats_sd_m($0.baseAddress, 1, $0.count, m) } : 0
        min = sorted[0]
        max = sorted[count - 1]
        median = try Statistics.quantile(sortedValues: sorted, 0.5)
        p90 = try Statistics.quantile(sortedValues: sorted, 0.9)
        p99 = try Statistics.quantile(sortedValues: sorted, 0.99)
    }

    /// max / mean: the load-imbalance figure used for experts and ranks.
    public var maxOverMean: Double { mean == 0 ? 0 : max / mean }
}

public enum Statistics {
    /// The `p`-quantile of ascending `sortedValues` by linear interpolation between order
    /// statistics (GSL `gsl_stats_quantile_from_sorted_data`, Hyndman–Fan type 7).
    public static func quantile(sortedValues: [Double], _ p: Double) throws -> Double {
        try StochasticError.require(!sortedValues.isEmpty, "values", "[]", "non-empty")
        try StochasticError.require(p >= 0 && p <= 1, "p", p, "in [0, 1]")
        return sortedValues.withUnsafeBufferPointer {
            gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, p)
        }
    }

    /// The `p`-quantile of unsorted values.
    public static func quantile(_ values: [Double], _ p: Double) throws -> Double {
        try quantile(sortedValues: values.sorted(), p)
    }
}
