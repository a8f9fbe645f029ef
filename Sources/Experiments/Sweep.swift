import ConfigIO
import Yams

/// The `sweep:` section of an experiment file: which key paths vary, and how.
///
/// ```yaml
/// sweep:
///   grid:                       # cartesian product, first key outermost
///     parallel.pp: [8, 16, 32]
///     schedule: [dualpipe, zb1p]
///   zip:                        # lists of equal length that advance together (one axis)
///     hardware.node: [HGX-H800-8GPU, HGX-H100-8GPU]
///     run.price_per_gpu_hour_usd: [2.0, 3.0]
///   derive:                     # computed per point, in order, after grid and zip
///     microbatches: "15360 // dp"
/// ```
/// The zip axis is outermost, then the grid keys. `derive` expressions may use any numeric key
/// path of the point (`parallel.pp`), earlier derived keys, and the built-ins `gpus`, `nodes`,
/// `gpus_per_node` and `dp` (GPUs ÷ GPUs per pipeline).
public struct Sweep: Sendable {
    public struct Axis: Sendable {
        public var key: String
        public var values: [ConfigValue]
    }
    public var grid: [Axis]
    public var zip: [Axis]
    public var derive: [(key: String, expression: Expression, source: ConfigValue)]

    static let keys = ["grid", "zip", "derive"]

    /// No sweep: one point, the document itself.
    public static let single = Sweep(grid: [], zip: [], derive: [])

    public var isSingle: Bool { grid.isEmpty && zip.isEmpty && derive.isEmpty }

    /// Parses `sweep:`; `topLevelKeys` are the keys a swept path may start with.
    public static func parse(_ v: ConfigValue, topLevelKeys: [String]) throws -> Sweep {
        try v.requireKnownKeys(keys)
        func axes(_ name: String) throws -> [Axis] {
            guard let section = try v.optional(name) else { return [] }
            return try section.keys().map { key in
                let value = try section.required(key)
                try checkPath(key, at: value, topLevelKeys: topLevelKeys)
                let values = try value.elements()
                if values.isEmpty { throw value.error("'\(key)' has no values", fix: "give a list with at least one value") }
                return Axis(key: key, values: values)
            }
        }
        let grid = try axes("grid"), zip = try axes("zip")
        if let n = zip.first?.values.count, let bad = zip.first(where: { $0.values.count != n }) {
            throw try v.required("zip").required(bad.key).error("zipped lists must have the same length: '\(zip[0].key)' has \(n), '\(bad.key)' has \(bad.values.count)",
                                                                 fix: "give every zipped key as many values, or move one to grid:")
        }
        var swept = Set((grid + zip).map(\.key))
        if let dup = zip.first(where: { z in grid.contains { $0.key == z.key } }) {
            throw try v.required("zip").required(dup.key).error("'\(dup.key)' is both in grid and zip", fix: "sweep each key in one place")
        }
        var derive: [(String, Expression, ConfigValue)] = []
        if let d = try v.optional("derive") {
            for key in try d.keys() {
                let value = try d.required(key)
                try checkPath(key, at: value, topLevelKeys: topLevelKeys)
                if swept.contains(key) { throw value.error("'\(key)' is both swept and derived", fix: "remove it from grid/zip or from derive") }
                let e = Expression(try value.string())
                do { _ = try e.names() } catch let f as Expression.Failure { throw value.error(f.problem) }
                derive.append((key, e, value))
                swept.insert(key)
            }
        }
        return Sweep(grid: grid, zip: zip, derive: derive)
    }

    static func checkPath(_ key: String, at value: ConfigValue, topLevelKeys: [String]) throws {
        let components: [KeyPath.Component]
        do { components = try KeyPath.components(key) } catch let e as ConfigError { throw value.error(e.problem, fix: e.fix) }
        guard case .key(let top) = components[0], topLevelKeys.contains(top), !["sweep", "base", "outputs"].contains(top) else {
            let allowed = topLevelKeys.filter { !["sweep", "base", "outputs"].contains($0) }
            throw value.error("cannot sweep '\(key)': it does not start with an experiment key", fix: Suggestion.fix(for: key.split(separator: ".").first.map(String.init) ?? key, allowed: allowed))
        }
    }

    /// Number of points.
    public var count: Int { (zip.first?.values.count ?? 1) * grid.reduce(1) { $0 * $1.values.count } }

    /// One point of the sweep: its swept and derived values and the document they make, or the
    /// reason it cannot be built.
    public struct Point: Sendable {
        public var index: Int
        /// Key path → value as text, in sweep order (zip, grid, derive).
        public var parameters: [(key: String, value: String)]
        public var document: ConfigValue?
        public var infeasible: ConfigError?
    }

    /// Expands `document` (without its `sweep:` key) into the sweep's points. `builtins` gives
    /// the built-in names for derived expressions from a point's document.
    public func points(of document: ConfigValue, builtins: (ConfigValue) throws -> [String: Double]) throws -> [Point] {
        let zipCount = zip.first?.values.count ?? 1
        var result: [Point] = []
        for index in 0..<count {
            var rest = index
            var gridChoices: [(Axis, ConfigValue)] = []
            for axis in grid.reversed() {
                gridChoices.insert((axis, axis.values[rest % axis.values.count]), at: 0)
                rest /= axis.values.count
            }
            let z = rest % zipCount
            let choices = zip.map { ($0, $0.values[z]) } + gridChoices
            var doc = document
            var parameters: [(String, String)] = []
            for (axis, value) in choices {
                doc = try doc.setting(axis.key, to: value.node, origin: value.sourceFile)
                parameters.append((axis.key, Self.text(value)))
            }
            var infeasible: ConfigError?
            do { try applyDerive(to: &doc, parameters: &parameters, builtins: builtins) } catch let e as ConfigError where e.infeasible { infeasible = e }
            result.append(Point(index: index, parameters: parameters, document: infeasible == nil ? doc : nil, infeasible: infeasible))
        }
        return result
    }

    /// Sets every derived key of one point, in order, each from the document so far.
    func applyDerive(to doc: inout ConfigValue, parameters: inout [(String, String)], builtins: (ConfigValue) throws -> [String: Double]) throws {
        for (key, expression, source) in derive {
            let names = try builtins(doc)
            let value: Double
            do {
                value = try expression.evaluate { name in
                    if let b = names[name] { return b }
                    return try doc.value(at: name)?.double()
                }
            } catch let f as Expression.Failure {
                throw source.error(f.problem, fix: "names: key paths of the experiment or \(names.keys.sorted().joined(separator: ", "))")
            }
            let text = ResultRow.format(value)
            var node = Node(text)
            if case .scalar(var s) = node { s.mark = source.node.mark; node = .scalar(s) }
            doc = try doc.setting(key, to: node, origin: source.sourceFile)
            parameters.append((key, text))
        }
    }

    /// A swept value as text (scalars as written, lists and mappings in flow style:
    /// `[layernorm, moe_act]`, `{cp: 8}`).
    static func text(_ v: ConfigValue) -> String { flow(v.node) }

    static func flow(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string
        case .sequence(let items): return "[" + items.map(flow).joined(separator: ", ") + "]"
        case .mapping(let pairs): return "{" + pairs.map { "\(flow($0.key)): \(flow($0.value))" }.joined(separator: ", ") + "}"
        case .alias: return ((try? Yams.serialize(node: node)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
