/// Fixed-width and markdown tables for human output.
public enum TextTable {
    /// Columns from `firstNumeric` on are right-aligned; trailing spaces are trimmed.
    public static func render(_ rows: [[String]], rightAlignedFrom firstNumeric: Int = 1) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            var line = row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i >= firstNumeric ? pad + cell : cell + pad
            }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// A GitHub-flavoured markdown table; the first row is the header.
    public static func markdown(_ rows: [[String]], rightAlignedFrom firstNumeric: Int = 1) -> String {
        guard let header = rows.first else { return "" }
        func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
        let rule = "|" + header.indices.map { $0 >= firstNumeric ? "---:" : ":---" }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.dropFirst().map(line)).joined(separator: "\n")
    }

    /// A formatted number with its integer digits grouped by thousands: "-1234567.25" →
    /// "-1,234,567.25".
    public static func grouped(_ number: String) -> String {
        var integer = Substring(number), sign = "", fraction = Substring("")
        if integer.hasPrefix("-") { sign = "-"; integer = integer.dropFirst() }
        if let dot = integer.firstIndex(of: ".") { fraction = integer[dot...]; integer = integer[..<dot] }
        var out = ""
        for (i, ch) in integer.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return sign + String(out.reversed()) + fraction
    }

    /// RFC 4180 CSV.
    public static func csv(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { cell in
                cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
            }.joined(separator: ",")
        }.joined(separator: "\n")
    }
}
