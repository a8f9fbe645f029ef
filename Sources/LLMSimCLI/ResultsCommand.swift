import ArgumentParser
import Experiments
import Foundation

/// Opens an existing results database (never creates one by accident).
enum ResultsSource {
    static func rows(database: String, experiment: String?, filters: [String]) throws -> [ResultRow] {
        guard FileManager.default.fileExists(atPath: database) else {
            throw ValidationError("no results database at '\(database)' — run an experiment first (llmsim run FILE --db \(database))")
        }
        let store = try ResultsStore(path: database)
        if let experiment, try !store.experiments().contains(experiment) {
            throw ValidationError("'\(database)' has no experiment '\(experiment)' — it has: \(try store.experiments().joined(separator: ", "))")
        }
        let rows = try store.rows(experiment: experiment)
        let parsed = try filters.map { try ResultFilter(parsing: $0) }
        for f in parsed { try f.check(against: rows) }
        return rows.filter { r in parsed.allSatisfy { $0.matches(r) } }
    }
}

/// `llmsim results DB`: the stored points, filtered, as a table, CSV or JSON.
struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results", abstract: "List the points stored in a results database.")

    @Argument(help: "Results database written by llmsim run.") var database: String
    @Option(help: "Only this experiment (by name).") var experiment: String?
    @Option(name: .customLong("where"), help: "Filter, repeatable: KEY=VALUE, KEY!=VALUE, KEY<VALUE, KEY>=VALUE… (parameters, outputs, status).") var filters: [String] = []
    @Option(help: "Output columns, comma-separated (default: a summary set).") var columns: String?
    @Flag(help: "Every field as CSV.") var csv = false
    @Flag(help: "Every field as JSON.") var json = false
    @Flag(help: "A markdown table.") var markdown = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        let rows = try ResultsSource.rows(database: database, experiment: experiment, filters: filters)
        if csv { return ResultsFormat.csv(rows) }
        if json { return ResultsFormat.json(rows) }
        let outputs = try columns.map { list in
            try list.split(separator: ",").map { name -> String in
                let n = name.trimmingCharacters(in: .whitespaces)
                guard OutputCatalog.isKnown(n) else {
                    throw ValidationError("unknown output '\(n)' — known: \(OutputCatalog.all.map(\.name).joined(separator: ", ")), gpu_hours.<phase>")
                }
                return n
            }
        } ?? OutputCatalog.defaultSummary(for: rows)
        let experiments = Set(rows.map(\.experiment))
        let (table, numericFrom, notes) = ResultsFormat.table(rows, outputs: outputs, withExperiment: experiments.count > 1)
        var text = markdown ? TextTable.markdown(table, rightAlignedFrom: numericFrom) : Output.table(table, rightAlignedFrom: numericFrom)
        if !notes.isEmpty { text += "\n\n" + notes.joined(separator: "\n") }
        return rows.isEmpty ? "no stored points match" : text
    }
}

/// `llmsim report DB --x KEY --y KEY [--series KEY] --svg FILE`: a line or bar plot (or a
/// markdown table) of stored results.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Plot stored results (SVG line, bar or stacked-bar chart) or tabulate them (markdown).")

    @Argument(help: "Results database written by llmsim run.") var database: String
    @Option(help: "Only this experiment (by name).") var experiment: String?
    @Option(help: "Key on the x axis (a swept parameter or an output).") var x: String
    @Option(help: "Output(s) on the y axis, comma-separated.") var y: String
    @Option(help: "Key whose values make one series each.") var series: String?
    @Option(name: .customLong("where"), help: "Filter, repeatable (see llmsim results).") var filters: [String] = []
    @Option(help: "line, bar or stacked (default: line when x is numeric, bar otherwise); stacked draws one bar per x with the --y outputs stacked, e.g. --y compute_s,exposed_communication_s,bubble_s,optimizer_s.") var kind: String?
    @Flag(help: "Logarithmic x axis.") var logX = false
    @Option(help: "Plot title (default: y against x).") var title: String?
    @Option(help: "Write the plot to this SVG file.") var svg: String?
    @Flag(help: "Print a markdown table of x, series and y instead of (or besides) the plot.") var markdown = false
    @Flag(help: "Include infeasible points (their outputs are kept when they could be computed).") var includeInfeasible = false
    @Flag(help: "Print the plotted series as JSON (x, y per series).") var json = false

    func run() throws { try Output.reportingErrors { print(try output()) } }

    func output() throws -> String {
        guard svg != nil || markdown || json else { throw ValidationError("give --svg FILE for a plot, --markdown for a table, or --json for the series") }
        var rows = try ResultsSource.rows(database: database, experiment: experiment, filters: filters)
        if !includeInfeasible { rows = rows.filter { $0.status == "ok" } }
        guard !rows.isEmpty else { throw ValidationError("no stored points to report (infeasible ones are left out unless --include-infeasible)") }
        let ys = y.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for key in [x] + ys + (series.map { [$0] } ?? []) {
            try ResultFilter(parsing: "\(key)=0").check(against: rows)
        }
        var plotted: [PlotSVG.Series] = []
        for yKey in ys {
            var groups: [String: [(x: String, y: Double)]] = [:], order: [String] = []
            for r in rows {
                guard let xv = r.field(x), let yv = r.number(yKey) else { continue }
                let s = series.flatMap { r.field($0) } ?? ""
                let name = [ys.count > 1 ? yKey : nil, series.map { "\($0) = \(s)" }].compactMap { $0 }.joined(separator: ", ")
                if groups[name] == nil { order.append(name) }
                groups[name, default: []].append((ResultsFormat.trimmed(xv), yv))
            }
            plotted += order.map { PlotSVG.Series(name: $0.isEmpty ? yKey : $0, points: groups[$0]!) }
        }
        let numeric = rows.allSatisfy { $0.number(x) != nil }
        let plotKind: PlotSVG.Kind
        if let kind {
            guard let k = PlotSVG.Kind(rawValue: kind) else { throw ValidationError("--kind must be line, bar or stacked, not '\(kind)'") }
            plotKind = k
        } else { plotKind = numeric ? .line : .bar }
        if plotKind == .stacked, series != nil {
            throw ValidationError("--kind stacked stacks the --y outputs of each x; it takes no --series (filter with --where instead)")
        }
        if plotKind == .stacked, let serie = plotted.first, Set(serie.points.map(\.x)).count < serie.points.count {
            throw ValidationError("--kind stacked needs one point per x, but several stored points share an x of \(x); choose an x that tells them apart (e.g. point) or filter with --where")
        }
        // Several outputs of one unit (a stack of seconds): the legend names them, the axis its unit.
        let units = Set(ys.map { OutputCatalog.spec($0)?.unit ?? "" })
        let yLabel = ys.count == 1 ? ResultsFormat.header(ys[0])
            : units.count == 1 && !units.first!.isEmpty ? "\(ys.count) outputs [\(units.first!)]" : ys.map(ResultsFormat.header).joined(separator: ", ")
        let plotTitle = title ?? "\(ys.joined(separator: ", ")) against \(x)"
        if json {
            struct SeriesJSON: Encodable { var name: String; var x: [String]; var y: [Double] }
            struct PlotJSON: Encodable { var title: String; var xLabel: String; var yLabel: String; var series: [SeriesJSON] }
            if let svg {
                try PlotSVG.render(series: plotted, kind: plotKind, title: plotTitle, xLabel: ResultsFormat.header(x), yLabel: yLabel, logX: logX)
                    .write(toFile: svg, atomically: true, encoding: .utf8)
            }
            return try Output.json(PlotJSON(title: plotTitle, xLabel: ResultsFormat.header(x), yLabel: yLabel,
                                            series: plotted.map { SeriesJSON(name: $0.name, x: $0.points.map(\.x), y: $0.points.map(\.y)) }))
        }
        var text: [String] = []
        if let svg {
            try PlotSVG.render(series: plotted, kind: plotKind, title: plotTitle, xLabel: ResultsFormat.header(x), yLabel: yLabel, logX: logX)
                .write(toFile: svg, atomically: true, encoding: .utf8)
            text.append("wrote \(svg) (\(plotted.count) series, \(plotted.reduce(0) { $0 + $1.points.count }) points)")
        }
        if markdown {
            var table = [[ResultsFormat.header(x), "series", yLabel]]
            for s in plotted { for p in s.points { table.append([p.x, s.name, ResultsFormat.cell(ys[0], p.y)]) } }
            if series == nil && ys.count == 1 { table = table.map { [$0[0], $0[2]] } }
            text.insert(TextTable.markdown(table), at: 0)
        }
        return text.joined(separator: "\n\n")
    }
}
