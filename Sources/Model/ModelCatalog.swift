import ConfigIO
import Foundation

/// The models shipped in `Experiments/models/`: a `catalog.yaml` naming each model's
/// `config.json`, its training sequence length and the source of both.
public struct ModelCatalog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// Path of the Hugging Face config.json.
        public var configPath: String
        /// Sequence length the model was pre-trained at, tokens.
        public var trainingSequenceLength: Int
        public var source: String
    }

    public var directory: String
    public var entries: [String: Entry]

    static let entryKeys = ["config", "training_seq_len", "source"]

    /// Loads `catalog.yaml` from `directory`.
    public static func load(directory: String) throws -> ModelCatalog {
        let path = (directory as NSString).appendingPathComponent("catalog.yaml")
        let root = try ConfigValue.load(path: path)
        var entries: [String: Entry] = [:]
        for name in try root.keys() {
            let e = try root.required(name)
            try e.requireKnownKeys(entryKeys)
            let config = try e.required("config").string()
            entries[name] = Entry(name: name, configPath: (directory as NSString).appendingPathComponent(config),
                                  trainingSequenceLength: try e.positiveInt("training_seq_len"),
                                  source: try e.required("source").string())
        }
        return ModelCatalog(directory: directory, entries: entries)
    }

    /// A model by catalog name, or by the path of a `config.json`. A path outside the catalog
    /// trains at `defaultSequenceLength` unless the caller overrides it.
    public func resolve(_ nameOrPath: String, defaultSequenceLength: Int = 4096) throws -> (ModelArchitecture, Entry) {
        if let entry = entries[nameOrPath] {
            return (try HFConfig.load(path: entry.configPath, name: entry.name), entry)
        }
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            guard FileManager.default.fileExists(atPath: nameOrPath) else {
                throw ConfigError(file: nameOrPath, problem: "no such model config file", fix: "give a path to a config.json or a model name: \(entries.keys.sorted().joined(separator: ", "))")
            }
            let model = try HFConfig.load(path: nameOrPath)
            return (model, Entry(name: model.name, configPath: nameOrPath, trainingSequenceLength: defaultSequenceLength, source: nameOrPath))
        }
        throw ConfigError(key: "model", problem: "unknown model '\(nameOrPath)'", fix: Suggestion.fix(for: nameOrPath, allowed: Array(entries.keys)))
    }
}
