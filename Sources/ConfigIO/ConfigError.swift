/// A problem in an input file (experiment, topology, model config, catalog), with enough context
/// to fix it: the file, the line, the key path, what is wrong and what is allowed.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file at fault, as the user named it.
    public var file: String?
    /// 1-based line in `file`, when known.
    public var line: Int?
    /// Dotted key path, e.g. `cluster.nodes` or `layers[2].kind`.
    public var key: String?
    /// What is wrong.
    public var problem: String
    /// What is allowed, or how to fix it.
    public var fix: String?
    /// True when the input is well-formed but describes something impossible (a parallel plan
    /// that does not divide, a model that does not fit): a sweep records such a point as
    /// infeasible instead of stopping. False for malformed input (unknown key, wrong type).
    public var infeasible: Bool

    public init(file: String? = nil, line: Int? = nil, key: String? = nil, problem: String, fix: String? = nil, infeasible: Bool = false) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
        self.fix = fix
        self.infeasible = infeasible
    }

    /// The same error, marked infeasible.
    public var markedInfeasible: ConfigError { var e = self; e.infeasible = true; return e }

    public var description: String {
        var location = file ?? "<input>"
        if let line { location += ":\(line)" }
        var text = "\(location): "
        if let key, !key.isEmpty { text += "key '\(key)': " }
        text += problem
        if let fix { text += " — \(fix)" }
        return text
    }
}
