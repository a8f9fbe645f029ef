/// An invalid argument to a distribution or statistic, reported instead of GSL's abort.
public struct StochasticError: Error, CustomStringConvertible, Equatable {
    /// The parameter at fault, e.g. `"shape"`.
    public var parameter: String
    /// The value given.
    public var value: String
    /// What is allowed, e.g. `"> 0"`.
    public var requirement: String

    public var description: String {
        "invalid \(parameter) = \(value): must be \(requirement)"
    }

    static func require(_ ok: Bool, _ parameter: String, _ value: Any, _ requirement: String) throws {
        if !ok { throw StochasticError(parameter: parameter, value: "\(value)", requirement: requirement) }
    }
}
