import ConfigIO
import Foundation
import Hardware
import SimCore
import Training
import Yams

/// An experiment file as a user wrote it: its own text, the document after `base:` inheritance,
/// its sweep, and the outputs its summary shows.
public struct ExperimentFile: Sendable {
    /// The path as given.
    public var path: String
    /// File name without extension (`cluster-size`).
    public var name: String
    /// The file's own text (stored with the results).
    public var text: String
    /// The assembled document without `sweep:` and `outputs:`.
    public var document: ConfigValue
    public var sweep: Sweep
    /// Output names the summary table shows (all outputs are stored); nil: a default set.
    public var outputs: [String]?
    /// FNV-1a 64 of the assembled document and sweep, then of the bytes of every file they name
    /// (topology, model config, calibration, expert-load histogram; `ConfigValue.namedFiles`),
    /// hex: identifies the experiment in a results database, so a rerun with `--resume` after
    /// one of those files changed is refused instead of mixing points from both versions.
    public var hash: String

    public static func load(path: String) throws -> ExperimentFile {
        let full = try ConfigDocument.load(path: path)
        try full.requireKnownKeys(StepExperiment.keys)
        let sweep = try full.optional("sweep").map { try Sweep.parse($0, topLevelKeys: StepExperiment.keys) } ?? .single
        var outputs: [String]?
        if let o = try full.optional("outputs") {
            outputs = try o.elements().map { e in
                let name = try e.string()
                guard OutputCatalog.isKnown(name) else {
                    throw e.error("unknown output '\(name)'", fix: Suggestion.fix(for: name, allowed: OutputCatalog.all.map(\.name)))
                }
                return name
            }
        }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let serialized = (try? Yams.serialize(node: full.node)) ?? text
        return ExperimentFile(path: path, name: ((path as NSString).lastPathComponent as NSString).deletingPathExtension, text: text,
                              document: full.removing("sweep").removing("outputs"), sweep: sweep, outputs: outputs,
                              hash: String(contentHash(serialized, namedFiles: full.namedFiles()), radix: 16))
    }

    /// The document's hash continued over each named file's bytes (in document order, so moving
    /// the experiment's folder keeps it). A file that cannot be read counts as empty: the step
    /// reports it when it opens the file.
    static func contentHash(_ serialized: String, namedFiles: [String]) -> UInt64 {
        namedFiles.reduce(FNV1a.hash(serialized)) { state, file in
            let bytes = FileManager.default.contents(atPath: file) ?? Data()
            return FNV1a.hash(bytes: bytes, continuing: FNV1a.hash(bytes: [0], continuing: state))
        }
    }

    /// The points of the sweep (one point when there is none).
    public func points(hardware: HardwareCatalog) throws -> [Sweep.Point] {
        try sweep.points(of: document) { try Self.builtins(of: $0, hardware: hardware) }
    }

    /// Names every derived expression may use: `gpus`, `nodes`, `gpus_per_node`, `dp`
    /// (GPUs ÷ (GPUs per pipeline × TP)).
    static func builtins(of doc: ConfigValue, hardware: HardwareCatalog) throws -> [String: Double] {
        let topology = try StepExperiment.parseCluster(doc, hardware: hardware)
        var names: [String: Double] = ["gpus": Double(topology.gpus), "nodes": Double(topology.nodes), "gpus_per_node": Double(topology.node.gpus)]
        if let pp = try doc.value(at: "parallel.pp").map({ try $0.int() }), pp > 0 {
            let tp = try doc.value(at: "parallel.tp").map { try $0.int() } ?? 1
            let perPipeline = (try doc.optional("schedule")?.string()) == "dualpipev" ? max(pp / 2, 1) : pp
            names["dp"] = Double(topology.gpus / max(perPipeline * tp, 1))
        }
        return names
    }
}
