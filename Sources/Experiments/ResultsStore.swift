import Foundation
import ResultsDB

/// llmsim's version, stored with every result.
public enum LLMSimVersion {
    public static let current = "0.6.0"
}

/// One stored point: its experiment, parameters and outputs.
public struct ResultRow: Sendable, Equatable {
    public var experiment: String
    public var experimentID: Int
    public var point: Int
    public var status: String
    public var reason: String
    /// Swept and derived values, in sweep order.
    public var parameters: [(key: String, value: String)]
    public var outputs: [(name: String, value: Double)]

    public static func == (a: ResultRow, b: ResultRow) -> Bool {
        a.experiment == b.experiment && a.point == b.point && a.status == b.status && a.reason == b.reason &&
            a.parameters.map(\.key) == b.parameters.map(\.key) && a.parameters.map(\.value) == b.parameters.map(\.value) &&
            a.outputs.map(\.name) == b.outputs.map(\.name) && a.outputs.map(\.value) == b.outputs.map(\.value)
    }

    /// A parameter, output, `status`, `reason`, `point` or `experiment` by name, as text.
    public func field(_ key: String) -> String? {
        switch key {
        case "experiment": return experiment
        case "point": return String(point)
        case "status": return status
        case "reason": return reason
        default:
            if let p = parameters.first(where: { $0.key == key }) { return p.value }
            return outputs.first { $0.name == key }.map { Self.format($0.value) }
        }
    }

    /// A field as a number, when it is one.
    public func number(_ key: String) -> Double? {
        if let o = outputs.first(where: { $0.name == key }) { return o.value }
        return field(key).flatMap { Double($0) }
    }

    /// Shortest text that reads back as the same Double (integers without ".0").
    public static func format(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
    }
}

/// The results database of sweeps: one row per point with its parameters and every output,
/// plus the experiment's text and hash and the llmsim version. Every point is committed in its
/// own transaction the moment it finishes, so a run killed half-way keeps all it finished, and
/// `--resume` finishes only the missing points (the primary key forbids duplicates).
///
/// Tables: `experiments(id, name, path, hash, text, llmsim_version, points, parameter_keys)`
/// and `points(experiment_id, point, status, reason, parameters, outputs)` where `parameters`
/// and `outputs` are JSON objects (query them with SQLite's `json_extract`).
public final class ResultsStore: @unchecked Sendable {
    public let database: Database
    private let lock = NSLock()

    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        database = try Database(path: path)
        // In a write transaction taken up front: a deferred one that read the schema and then
        // tried to write could fail at once (SQLite's SQLITE_BUSY_SNAPSHOT, no waiting) when
        // another process — a sweep and a reader opening a new file together — created the
        // tables in between.
        try database.transaction {
            try database.execute("""
            CREATE TABLE IF NOT EXISTS experiments(
              id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, text TEXT NOT NULL,
              llmsim_version TEXT NOT NULL, points INTEGER NOT NULL, parameter_keys TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS points(
              experiment_id INTEGER NOT NULL REFERENCES experiments(id), point INTEGER NOT NULL,
              status TEXT NOT NULL, reason TEXT NOT NULL, parameters TEXT NOT NULL, outputs TEXT NOT NULL,
              PRIMARY KEY(experiment_id, point));
            """)
        }
    }

    /// A store that cannot continue as asked: stored results from another version of the file
    /// under `--resume`, or another run replacing this one's experiment.
    public struct StoreError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts (or, with `resume`, continues) `experiment`'s results. Returns its id and the
    /// points already finished. Without `resume`, earlier results of an experiment with the
    /// same name are replaced.
    public func begin(_ experiment: ExperimentFile, points: Int, parameterKeys: [String], resume: Bool) throws -> (id: Int, finished: Set<Int>) {
        try lock.withLock {
            try database.transaction {
                let previous = try database.query("SELECT id, hash, llmsim_version FROM experiments WHERE name = ? ORDER BY id DESC LIMIT 1", [.text(experiment.name)])
                if resume, let row = previous.first, case .integer(let id) = row[0], case .text(let hash) = row[1] {
                    guard hash == experiment.hash else {
                        throw StoreError(description: "\(database.path): the stored results of '\(experiment.name)' come from a different version of the file or of a file it names (hash \(hash), now \(experiment.hash)) — rerun without --resume to start over")
                    }
                    if case .text(let version) = row[2], version != LLMSimVersion.current {
                        throw StoreError(description: "\(database.path): the stored results of '\(experiment.name)' were computed by llmsim \(version), this is \(LLMSimVersion.current) — rerun without --resume to start over")
                    }
                    let done = try database.query("SELECT point FROM points WHERE experiment_id = ?", [.integer(id)])
                    return (Int(id), Set(done.compactMap { if case .integer(let p) = $0[0] { return Int(p) } else { return nil } }))
                }
                for row in previous { if case .integer(let id) = row[0] { try deleteExperiment(Int(id)) } }
                try database.query("INSERT INTO experiments(name, path, hash, text, llmsim_version, points, parameter_keys) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   [.text(experiment.name), .text(experiment.path), .text(experiment.hash), .text(experiment.text),
                                    .text(LLMSimVersion.current), .integer(Int64(points)), .text(Self.jsonArray(parameterKeys))])
                let id = try database.query("SELECT last_insert_rowid()")
                guard case .integer(let newID) = id[0][0] else { throw StoreError(description: "\(database.path): SQLite returned no row id") }
                return (Int(newID), [])
            }
        }
    }

    private func deleteExperiment(_ id: Int) throws {
        try database.query("DELETE FROM points WHERE experiment_id = ?", [.integer(Int64(id))])
        try database.query("DELETE FROM experiments WHERE id = ?", [.integer(Int64(id))])
    }

    /// Commits one finished point.
    public func record(experimentID: Int, point: Sweep.Point, outcome: PointOutcome) throws {
        let parameters = Self.jsonObject(point.parameters.map { ($0.key, Self.jsonScalar($0.value)) })
        let outputs = Self.jsonObject(outcome.outputs.map { ($0.name, Self.jsonNumber($0.value)) })
        try lock.withLock {
            try database.transaction {
                // Another run of the same experiment on this file, started without --resume,
                // deletes this run's experiment (its new one never reuses the id: AUTOINCREMENT).
                guard try !database.query("SELECT 1 FROM experiments WHERE id = ?", [.integer(Int64(experimentID))]).isEmpty else {
                    throw StoreError(description: "\(database.path): another llmsim run replaced this experiment's results while this run was writing them — run one sweep of an experiment per database at a time (give each its own --db), then finish this one with --resume")
                }
                _ = try database.query("INSERT INTO points(experiment_id, point, status, reason, parameters, outputs) VALUES (?, ?, ?, ?, ?, ?)",
                                       [.integer(Int64(experimentID)), .integer(Int64(point.index)), .text(outcome.status.rawValue),
                                        .text(outcome.reason), .text(parameters), .text(outputs)])
            }
        }
    }

    /// Stored rows, in experiment then point order; `experiment` filters by name.
    public func rows(experiment: String? = nil) throws -> [ResultRow] {
        let sql = """
            SELECT e.name, e.id, p.point, p.status, p.reason, p.parameters, p.outputs, e.parameter_keys
            FROM points p JOIN experiments e ON e.id = p.experiment_id
            \(experiment == nil ? "" : "WHERE e.name = ?") ORDER BY e.id, p.point
            """
        return try lock.withLock { try database.query(sql, experiment.map { [.text($0)] } ?? []) }.map { r in
            func text(_ v: SQLValue) -> String { if case .text(let s) = v { return s }; if case .integer(let i) = v { return String(i) }; return "" }
            func int(_ v: SQLValue) -> Int { if case .integer(let i) = v { return Int(i) }; return 0 }
            let keys = (try? JSONSerialization.jsonObject(with: Data(text(r[7]).utf8)) as? [String]) ?? []
            let parameters = (try? JSONSerialization.jsonObject(with: Data(text(r[5]).utf8)) as? [String: Any]) ?? [:]
            let outputs = (try? JSONSerialization.jsonObject(with: Data(text(r[6]).utf8)) as? [String: Any]) ?? [:]
            let orderedParameters = keys.compactMap { k in parameters[k].map { (k, Self.describe($0)) } }
            let orderedOutputs = outputs.keys.sorted { a, b in
                let ia = OutputCatalog.all.firstIndex { $0.name == a } ?? Int.max, ib = OutputCatalog.all.firstIndex { $0.name == b } ?? Int.max
                return (ia, a) < (ib, b)
            }.compactMap { k in (outputs[k] as? NSNumber).map { (k, $0.doubleValue) } }
            return ResultRow(experiment: text(r[0]), experimentID: int(r[1]), point: int(r[2]), status: text(r[3]), reason: text(r[4]),
                             parameters: orderedParameters, outputs: orderedOutputs)
        }
    }

    /// Names of the stored experiments, oldest first.
    public func experiments() throws -> [String] {
        try lock.withLock { try database.query("SELECT name FROM experiments ORDER BY id") }.compactMap { if case .text(let s) = $0[0] { return s } else { return nil } }
    }

    // MARK: JSON written by hand: keys in a fixed order, numbers in their shortest exact form.

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: if ch.value < 0x20 { out += String(format: "\\u%04x", ch.value) } else { out.unicodeScalars.append(ch) }
            }
        }
        return out + "\""
    }

    static func jsonNumber(_ v: Double) -> String { v.isFinite ? ResultRow.format(v) : "null" }

    /// A swept value: a JSON number when it reads as one, text otherwise.
    static func jsonScalar(_ text: String) -> String {
        if let d = Double(text), d.isFinite, !text.isEmpty, text.first != "+" { return jsonNumber(d) }
        return jsonString(text)
    }

    static func jsonObject(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(jsonString($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    static func jsonArray(_ items: [String]) -> String { "[" + items.map(jsonString).joined(separator: ", ") + "]" }

    static func describe(_ v: Any) -> String {
        if let s = v as? String { return s }
        if let n = v as? NSNumber { return ResultRow.format(n.doubleValue) }
        return "\(v)"
    }
}
