import Foundation
import Yams

/// A node of a parsed YAML or JSON document that remembers its file, line and key path, so every
/// accessor can throw a `ConfigError` that names exactly what is wrong. JSON is read by the same
/// parser (YAML 1.2 is a superset of JSON), so Hugging Face `config.json` files get line numbers
/// too.
///
/// `@unchecked Sendable`: Yams' `Node` is a value type whose only reference members are its
/// `Tag`s. A `Tag` resolves itself lazily — it writes its own name the first time a node is
/// hashed or compared — so two threads reading one document (sweep points) raced on those
/// writes and corrupted memory. Every document is therefore settled when it is made
/// (`settled`: one hash resolves every tag) and only read after that.
public struct ConfigValue: @unchecked Sendable {
    public let node: Node
    public let file: String
    public let path: String
    /// Which file each key path came from, for documents assembled from several files
    /// (`base:` inheritance, sweep points); nil for a document read from one file.
    public let origins: ConfigOrigins?

    /// A document (or a document assembled from others) over `node`, settled for reading from
    /// any thread.
    public init(node: Node, file: String, path: String = "", origins: ConfigOrigins? = nil) {
        self.init(child: Self.settled(node), file: file, path: path, origins: origins)
    }

    /// A part of a settled document (already settled with it).
    init(child node: Node, file: String, path: String, origins: ConfigOrigins?) {
        self.node = node
        self.file = file
        self.path = path
        self.origins = origins
    }

    /// `node` with every tag resolved: hashing a node resolves its tag and, for mappings and
    /// sequences, all of theirs. After this, reading the node writes nothing.
    static func settled(_ node: Node) -> Node {
        var hasher = Hasher()
        node.hash(into: &hasher)
        return node
    }

    /// The file this node was written in (differs from `file` for inherited keys).
    public var sourceFile: String { origins?.file(for: path) ?? file }

    /// The folder relative paths in this node's value are resolved against.
    public var sourceDirectory: String { (sourceFile as NSString).deletingLastPathComponent }

    /// `relative` resolved against the folder of the file this node came from.
    public func resolvePath(_ relative: String) -> String {
        relative.hasPrefix("/") ? relative : (sourceDirectory as NSString).appendingPathComponent(relative)
    }

    /// The path this text value names, resolved against its file's folder, which must exist:
    /// otherwise an error at this key that names the `kind` of file ("topology") and `fix`.
    public func existingPath(of kind: String, fix: String) throws -> String {
        let path = resolvePath(try string())
        guard FileManager.default.fileExists(atPath: path) else { throw error("the \(kind) file '\(path)' does not exist", fix: fix) }
        return path
    }

    /// Parses `text`; `file` is used in error messages only.
    public static func parse(_ text: String, file: String) throws -> ConfigValue {
        let node: Node?
        do {
            // Scalars are read from their text (`int()`, `double()`, `bool()`, null as "null" or
            // "~"), never from Yams' resolved tags; the basic resolver skips its regular
            // expressions, which every key's hash ran (about 4 ms of a 68 ms `llmsim step`).
            node = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw ConfigError(file: file, line: Self.line(of: error), problem: "malformed file: \(Self.summary(of: error))",
                              fix: "check the indentation, quotes and brackets near that line")
        }
        guard let node else {
            throw ConfigError(file: file, problem: "the file is empty", fix: "write a mapping of keys to values")
        }
        return ConfigValue(node: node, file: file)
    }

    /// Reads and parses the file at `path`.
    public static func load(path: String) throws -> ConfigValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, problem: "cannot read the file", fix: "check that the path exists and is readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, problem: "the file is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// 1-based line of this node in its file.
    public var line: Int? { node.mark.map { $0.line } }

    /// An error located at this node.
    public func error(_ problem: String, fix: String? = nil) -> ConfigError {
        ConfigError(file: sourceFile, line: line, key: path, problem: problem, fix: fix)
    }

    // MARK: Mappings

    /// The keys of a mapping, in file order.
    public func keys() throws -> [String] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values, found \(kindName)") }
        return mapping.keys.compactMap { $0.string }
    }

    /// Throws if the mapping has a key outside `allowed` (with a "did you mean" suggestion).
    public func requireKnownKeys(_ allowed: some Collection<String>) throws {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values, found \(kindName)") }
        for (keyNode, _) in mapping {
            let key = keyNode.string ?? ""
            if !allowed.contains(key) {
                throw ConfigError(file: origins?.file(for: child(key)) ?? file, line: keyNode.mark?.line, key: child(key),
                                  problem: "unknown key", fix: Suggestion.fix(for: key, allowed: Array(allowed)))
            }
        }
    }

    /// The value under `key`, or nil when absent (or explicitly null).
    public func optional(_ key: String) throws -> ConfigValue? {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values, found \(kindName)") }
        guard let value = mapping[key] else { return nil }
        if case .scalar(let s) = value, s.string == "null" || s.string == "~" { return nil }
        return ConfigValue(child: value, file: file, path: child(key), origins: origins)
    }

    /// The value under `key`; throws when missing.
    public func required(_ key: String) throws -> ConfigValue {
        guard let value = try optional(key) else {
            throw error("missing required key '\(key)'", fix: "add '\(key):' to \(path.isEmpty ? "the top level" : "'\(path)'")")
        }
        return value
    }

    // MARK: Sequences

    /// The elements of a sequence.
    public func elements() throws -> [ConfigValue] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(kindName)") }
        return sequence.enumerated().map { ConfigValue(child: $1, file: file, path: "\(path)[\($0)]", origins: origins) }
    }

    // MARK: Scalars

    public func string() throws -> String {
        guard case .scalar(let s) = node else { throw error("expected a text value, found \(kindName)") }
        return s.string
    }

    public func int() throws -> Int {
        let text = try string().replacingOccurrences(of: "_", with: "")
        if let v = Int(text) { return v }
        if let d = Double(text), d.rounded() == d, abs(d) < 9e18 { return Int(d) }
        throw error("expected an integer, found '\(text)'")
    }

    public func double() throws -> Double {
        let text = try string().replacingOccurrences(of: "_", with: "")
        guard let v = Double(text), v.isFinite else { throw error("expected a number, found '\(text)'") }
        return v
    }

    public func bool() throws -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw error("expected true or false, found '\(other)'")
        }
    }

    // MARK: Validated accessors

    /// An integer under `key` that must be > 0 (or ≥ 0 with `allowZero`).
    public func positiveInt(_ key: String, allowZero: Bool = false) throws -> Int {
        let value = try required(key)
        let v = try value.int()
        if v < 0 || (!allowZero && v == 0) {
            throw value.error("must be \(allowZero ? ">= 0" : "> 0"), found \(v)")
        }
        return v
    }

    public func positiveInt(_ key: String, default fallback: Int, allowZero: Bool = false) throws -> Int {
        try optional(key) == nil ? fallback : positiveInt(key, allowZero: allowZero)
    }

    /// A number under `key` that must be > 0 (or ≥ 0 with `allowZero`).
    public func positiveDouble(_ key: String, allowZero: Bool = false) throws -> Double {
        let value = try required(key)
        let v = try value.double()
        if v < 0 || (!allowZero && v == 0) {
            throw value.error("must be \(allowZero ? ">= 0" : "> 0"), found \(v)")
        }
        return v
    }

    public func positiveDouble(_ key: String, default fallback: Double, allowZero: Bool = false) throws -> Double {
        try optional(key) == nil ? fallback : positiveDouble(key, allowZero: allowZero)
    }

    /// `positiveInt(key)` when the key is present, nil when it is absent.
    public func positiveIntIfPresent(_ key: String) throws -> Int? {
        try optional(key) == nil ? nil : positiveInt(key)
    }

    /// `choice(key, allowed)` when the key is present, nil when it is absent.
    public func choiceIfPresent(_ key: String, _ allowed: [String]) throws -> String? {
        try optional(key) == nil ? nil : choice(key, allowed)
    }

    /// The case of `T` named by the text under `key`, every case allowed (the error lists their
    /// names in `allCases` order).
    public func choice<T: CaseIterable & RawRepresentable>(_ key: String, _ type: T.Type) throws -> T where T.RawValue == String {
        T(rawValue: try choice(key, T.allCases.map(\.rawValue)))!
    }

    /// `choice(key, type)` when `key` is present, nil otherwise.
    public func choiceIfPresent<T: CaseIterable & RawRepresentable>(_ key: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        try optional(key) == nil ? nil : choice(key, type)
    }

    /// A text value under `key` that must be one of `allowed`.
    public func choice(_ key: String, _ allowed: [String]) throws -> String {
        let value = try required(key)
        let v = try value.string()
        guard allowed.contains(v) else {
            throw value.error("'\(v)' is not allowed", fix: Suggestion.fix(for: v, allowed: allowed))
        }
        return v
    }

    /// The entry of `table` this text value names (a catalog's devices or node templates); an
    /// unknown name is an error at this value, `unknown <what> '<name>'`, listing the known ones.
    public func entry<T>(of table: [String: T], what: String) throws -> T {
        let name = try string()
        guard let found = table[name] else { throw error("unknown \(what) '\(name)'", fix: Suggestion.fix(for: name, allowed: Array(table.keys))) }
        return found
    }

    // MARK: Helpers

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var kindName: String {
        switch node {
        case .scalar(let s): return "the value '\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        default: return "an alias"
        }
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    static func summary(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "\(error)".split(separator: "\n").first.map(String.init) ?? "cannot parse"
        }
    }
}
