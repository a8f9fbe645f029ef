import Foundation

/// Stored results as tables (text, markdown, CSV) and JSON, with a unit on every column.
public enum ResultsFormat {
    /// `name [unit]` for an output column, the bare key for a parameter.
    public static func header(_ name: String) -> String {
        OutputCatalog.spec(name).map { "\(name) [\($0.unit)]" } ?? name
    }

    /// A number as a table shows it (the output's digits, thousands grouped).
    public static func cell(_ name: String, _ value: Double) -> String {
        let digits = OutputCatalog.spec(name)?.digits ?? 3
        var text = String(format: "%.\(digits)f", value)
        // Rounding noise below the shown digits (a bubble of −4e-16 s) reads as zero, unsigned.
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { text.removeFirst() }
        return abs(value) >= 1_000 ? TextTable.grouped(text) : text
    }

    /// A stored value as a label: numbers without trailing ".0".
    public static func trimmed(_ text: String) -> String {
        guard let d = Double(text) else { return text }
        return ResultRow.format(d)
    }

    /// Parameter keys of `rows`, in first-seen order.
    public static func parameterKeys(_ rows: [ResultRow]) -> [String] {
        var keys: [String] = []
        for r in rows { for p in r.parameters where !keys.contains(p.key) { keys.append(p.key) } }
        return keys
    }

    /// Rows for a table: point, the parameters, status, then `outputs`. Infeasible points show
    /// "infeasible" in the status column and their reason in `notes`.
    public static func table(_ rows: [ResultRow], outputs: [String], withExperiment: Bool = false) -> (rows: [[String]], numericFrom: Int, notes: [String]) {
        let keys = parameterKeys(rows)
        var table: [[String]] = [(withExperiment ? ["experiment"] : []) + ["point"] + keys + ["status"] + outputs.map(header)]
        var notes: [String] = []
        for r in rows {
            var line = (withExperiment ? [r.experiment] : []) + [String(r.point)] + keys.map { r.field($0) ?? "" } + [r.status]
            line += outputs.map { name in r.outputs.first { $0.name == name }.map { cell(name, $0.value) } ?? "–" }
            table.append(line)
            if !r.reason.isEmpty { notes.append("point \(r.point)\(withExperiment ? " of \(r.experiment)" : ""): \(r.reason)") }
        }
        return (table, (withExperiment ? 1 : 0) + 1 + keys.count + 1, notes)
    }

    /// All fields of every row as CSV (every output that any row has).
    public static func csv(_ rows: [ResultRow]) -> String {
        let keys = parameterKeys(rows)
        var outputs: [String] = []
        for r in rows { for o in r.outputs where !outputs.contains(o.name) { outputs.append(o.name) } }
        var table = [["experiment", "point"] + keys + ["status", "reason"] + outputs]
        for r in rows {
            table.append([r.experiment, String(r.point)] + keys.map { r.field($0) ?? "" } + [r.status, r.reason] +
                         outputs.map { n in r.outputs.first { $0.name == n }.map { ResultRow.format($0.value) } ?? "" })
        }
        return TextTable.csv(table) + "\n"
    }

    /// Every row as a JSON array of objects (keys in a fixed order).
    public static func json(_ rows: [ResultRow]) -> String {
        let items = rows.map { r -> String in
            let head = [("experiment", ResultsStore.jsonString(r.experiment)), ("point", String(r.point)),
                        ("status", ResultsStore.jsonString(r.status)), ("reason", ResultsStore.jsonString(r.reason))]
            let parameters = ResultsStore.jsonObject(r.parameters.map { ($0.key, ResultsStore.jsonScalar($0.value)) })
            let outputs = ResultsStore.jsonObject(r.outputs.map { ($0.name, ResultsStore.jsonNumber($0.value)) })
            return "  " + ResultsStore.jsonObject(head + [("parameters", parameters), ("outputs", outputs)])
        }
        return "[\n" + items.joined(separator: ",\n") + "\n]"
    }
}

/// `--where` filters of `llmsim results` and `llmsim report`: `KEY=VALUE`, `KEY!=VALUE`,
/// `KEY<VALUE`, `KEY<=VALUE`, `KEY>VALUE`, `KEY>=VALUE`; numbers compare as numbers.
public struct ResultFilter: Sendable, Equatable {
    public var key: String
    public var op: String
    public var value: String

    public init(parsing text: String) throws {
        for op in ["!=", "<=", ">=", "=", "<", ">"] {
            if let r = text.range(of: op) {
                key = String(text[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                value = String(text[r.upperBound...]).trimmingCharacters(in: .whitespaces)
                self.op = op
                guard !key.isEmpty else { break }
                return
            }
        }
        throw FilterError(description: "cannot read the filter '\(text)' — write KEY=VALUE, KEY!=VALUE, KEY<VALUE, KEY<=VALUE, KEY>VALUE or KEY>=VALUE, e.g. parallel.pp=16 or step_time_s<20")
    }

    public struct FilterError: Error, CustomStringConvertible { public var description: String }

    public func matches(_ row: ResultRow) -> Bool {
        guard let field = row.field(key) else { return false }
        if let a = row.number(key) ?? Double(field), let b = Double(value) { return compare(a, b) }
        return compare(field, value)
    }

    /// `a op b`, for numbers or text.
    func compare<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch op {
        case "=": return a == b
        case "!=": return a != b
        case "<": return a < b
        case "<=": return a <= b
        case ">": return a > b
        default: return a >= b
        }
    }

    /// Checks that `key` names something the rows have.
    public func check(against rows: [ResultRow]) throws {
        let known = Set(["experiment", "point", "status", "reason"] + ResultsFormat.parameterKeys(rows) + rows.flatMap { $0.outputs.map(\.name) })
        guard known.contains(key) else {
            throw FilterError(description: "the filter names '\(key)', which no stored point has — known keys: \(known.sorted().joined(separator: ", "))")
        }
    }
}
