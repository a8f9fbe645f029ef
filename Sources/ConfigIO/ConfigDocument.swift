import Foundation
import Yams

/// Which file each key path of an assembled document came from, so an error in an inherited
/// key names the base file and its line, not the file that inherited it.
public final class ConfigOrigins: Sendable {
    /// Key path (`parallel.pp`, `run.phases`) → file. Paths absent here inherit their parent's.
    public let files: [String: String]

    public init(files: [String: String]) { self.files = files }

    /// The file of `path`: its own entry, or the nearest enclosing path's.
    public func file(for path: String) -> String? {
        var p = path
        while true {
            if let f = files[p] { return f }
            if p.isEmpty { return nil }
            p = KeyPath.parent(of: p)
        }
    }
}

/// Dotted key paths with optional list indices: `run.phases[0].tokens`.
public enum KeyPath {
    public enum Component: Equatable, Sendable { case key(String), index(Int) }

    /// Splits `path` into components; throws on an empty component or a malformed index.
    public static func components(_ path: String) throws -> [Component] {
        var result: [Component] = []
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            var text = Substring(part)
            var indices: [Int] = []
            while text.hasSuffix("]"), let open = text.lastIndex(of: "[") {
                guard let i = Int(text[text.index(after: open)..<text.index(before: text.endIndex)]), i >= 0 else {
                    throw ConfigError(key: path, problem: "malformed list index in key path", fix: "write e.g. run.phases[0].tokens")
                }
                indices.insert(i, at: 0)
                text = text[..<open]
            }
            guard !text.isEmpty else { throw ConfigError(key: path, problem: "empty component in key path", fix: "write keys separated by single dots, e.g. parallel.pp") }
            result.append(.key(String(text)))
            result += indices.map { .index($0) }
        }
        return result
    }

    /// The enclosing path: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → "".
    public static func parent(of path: String) -> String {
        if path.hasSuffix("]"), let open = path.lastIndex(of: "[") { return String(path[..<open]) }
        if let dot = path.lastIndex(of: ".") { return String(path[..<dot]) }
        return ""
    }
}

/// Documents built from several files: `base:` inheritance and key-path overrides.
public enum ConfigDocument {
    /// Reads `path`; when it has a `base: OTHER.yaml` key (relative to its folder), reads that
    /// first and deep-merges this file over it: mappings merge key by key, anything else (text,
    /// numbers, lists) is replaced whole. Bases may themselves have bases; cycles are errors.
    public static func load(path: String, baseKey: String = "base") throws -> ConfigValue {
        try load(path: path, baseKey: baseKey, chain: [])
    }

    static func load(path: String, baseKey: String, chain: [String]) throws -> ConfigValue {
        let own = try ConfigValue.load(path: path)
        var files: [String: String] = [:]
        record(own.node, path: "", file: path, into: &files)
        guard let baseValue = try own.optional(baseKey) else {
            return ConfigValue(node: own.node, file: path, origins: ConfigOrigins(files: files))
        }
        let basePath = try baseValue.existingPath(of: "base", fix: "give a path relative to this file, e.g. base: deepseek-v3.yaml")
        let key = (basePath as NSString).standardizingPath
        if chain.contains(key) || key == (path as NSString).standardizingPath {
            throw baseValue.error("'\(baseKey)' makes a cycle: \((chain + [key]).map { ($0 as NSString).lastPathComponent }.joined(separator: " → "))",
                                  fix: "a file must not extend itself, directly or through its bases")
        }
        let base = try load(path: basePath, baseKey: baseKey, chain: chain + [(path as NSString).standardizingPath])
        let merged = merge(base.node, over: without(baseKey, in: own.node))
        var mergedFiles = base.origins?.files ?? [:]
        record(without(baseKey, in: own.node), path: "", file: path, into: &mergedFiles)
        mergedFiles[""] = path
        return ConfigValue(node: merged, file: path, origins: ConfigOrigins(files: mergedFiles))
    }

    /// The file at `path` with the keys of `overrides` merged over it; errors in an overridden
    /// key name the overriding file, errors elsewhere the file at `path`. With `keyPath`, errors
    /// name keys under it (`calibration.bf16_gemm_efficiency`), as the experiment wrote them.
    public static func overlay(_ overrides: ConfigValue, onFile path: String, keyPath: String = "") throws -> ConfigValue {
        let base = try ConfigValue.load(path: path)
        var files = [keyPath: path]
        for key in try overrides.keys() { files[keyPath.isEmpty ? key : "\(keyPath).\(key)"] = overrides.sourceFile }
        return ConfigValue(node: merge(base.node, over: overrides.node), file: path, path: keyPath, origins: ConfigOrigins(files: files))
    }

    /// `over` merged onto `base`: mappings key by key (recursively), anything else replaced.
    public static func merge(_ base: Node, over: Node) -> Node {
        guard case .mapping(var result) = base, case .mapping(let top) = over else { return over }
        for (key, value) in top {
            if let existing = result[key] { result[key] = merge(existing, over: value) } else { result[key] = value }
        }
        result.mark = top.mark ?? result.mark
        return .mapping(result)
    }

    /// `node` without the top-level `key` (when it is a mapping).
    public static func without(_ key: String, in node: Node) -> Node {
        guard case .mapping(var m) = node else { return node }
        m[key] = nil
        return .mapping(m)
    }

    /// Notes `file` as the origin of every key path of the mappings inside `node`.
    static func record(_ node: Node, path: String, file: String, into files: inout [String: String]) {
        files[path] = file
        guard case .mapping(let m) = node else { return }
        for (k, v) in m {
            guard let key = k.string else { continue }
            record(v, path: path.isEmpty ? key : "\(path).\(key)", file: file, into: &files)
        }
    }
}

extension ConfigValue {
    /// A copy with the value at `keyPath` replaced by (or set to) `value`, creating missing
    /// mappings on the way; `origin` is the file named in errors about that key.
    public func setting(_ keyPath: String, to value: Node, origin: String) throws -> ConfigValue {
        let components = try KeyPath.components(keyPath)
        func set(_ node: Node?, _ rest: ArraySlice<KeyPath.Component>, at path: String) throws -> Node {
            guard let first = rest.first else { return value }
            switch first {
            case .key(let key):
                var m: Node.Mapping
                switch node {
                case nil: m = Node.Mapping([])
                case .mapping(let existing)?: m = existing
                case let other?:
                    throw ConfigError(file: origins?.file(for: path) ?? file, line: other.mark?.line, key: path,
                                      problem: "cannot set '\(keyPath)': '\(path)' is \(ConfigValue(node: other, file: file).kindName), not a mapping",
                                      fix: "write '\(path)' as a mapping so its keys can be swept or overridden")
                }
                let child = path.isEmpty ? key : "\(path).\(key)"
                m[key] = try set(m[key], rest.dropFirst(), at: child)
                return .mapping(m)
            case .index(let i):
                guard case .sequence(var s)? = node, i < s.count else {
                    throw ConfigError(file: origins?.file(for: path) ?? file, key: path, problem: "cannot set '\(keyPath)': '\(path)' has no element \(i)",
                                      fix: "index an existing list element")
                }
                s[i] = try set(s[i], rest.dropFirst(), at: "\(path)[\(i)]")
                return .sequence(s)
            }
        }
        let node = try set(self.node, components[...], at: "")
        var files = origins?.files ?? ["": file]
        files[keyPath] = origin
        return ConfigValue(node: node, file: file, path: path, origins: ConfigOrigins(files: files))
    }

    /// The value at `keyPath`, or nil when any component is absent.
    public func value(at keyPath: String) throws -> ConfigValue? {
        var current: ConfigValue? = self
        for component in try KeyPath.components(keyPath) {
            guard let c = current else { return nil }
            switch component {
            case .key(let k):
                guard case .mapping = c.node else { return nil }
                current = try c.optional(k)
            case .index(let i):
                guard case .sequence = c.node else { return nil }
                let e = try c.elements()
                current = i < e.count ? e[i] : nil
            }
        }
        return current
    }

    /// A copy without the top-level `key`.
    public func removing(_ key: String) -> ConfigValue {
        ConfigValue(node: ConfigDocument.without(key, in: node), file: file, path: path, origins: origins)
    }
}
