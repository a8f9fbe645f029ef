import Foundation

/// Markdown notebooks with live results. A fenced block whose info string is `llmsim` holds
/// llmsim command lines (without the `llmsim`), one per line; `#` starts a comment line. Under
/// each block the notebook keeps the commands' output between two markers:
///
/// ````markdown
/// ```llmsim
/// results build/notebooks/cluster-size.sqlite --markdown
/// report build/notebooks/cluster-size.sqlite --x gpus --y run_days --svg notebooks-md/figures/days.svg
/// ```
/// <!-- llmsim output -->
/// | gpus | … |            ← commands with --markdown: their output as is
/// ![…](figures/days.svg) ← commands with --svg: the figure, linked relative to the notebook
/// <!-- end llmsim output -->
/// ````
/// Other output goes into a ```` ```text ```` block. Lines starting with "wrote " (status) are
/// dropped. A command a non-zero exit may end (`validate` when a check fails) is written with
/// a leading `!`; its exit status is then shown instead of stopping the notebook. Commands run
/// from the current directory (the repository root).
public struct Notebook: Sendable {
    public static let outputStart = "<!-- llmsim output -->"
    public static let outputEnd = "<!-- end llmsim output -->"

    /// The notebook's path and text.
    public var path: String
    public var text: String

    public init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw NotebookError(description: "\(path): cannot read the notebook")
        }
        self.path = path
        self.text = text
    }

    public init(path: String, text: String) { self.path = path; self.text = text }

    public struct NotebookError: Error, CustomStringConvertible { public var description: String }

    /// One command's result: exit status and standard output.
    public struct CommandResult: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public init(status: Int32, stdout: String, stderr: String = "") { self.status = status; self.stdout = stdout; self.stderr = stderr }
    }

    /// Runs one command line (already split into arguments).
    public typealias Runner = ([String]) throws -> CommandResult

    /// The notebook with every output section refreshed. `svgRedirect` maps an `--svg` path to
    /// the path the command should write instead (check mode writes to a scratch folder);
    /// returns the new text and the figures written (notebook path → written path).
    public func rendered(run: Runner, svgRedirect: (String) -> String = { $0 }) throws -> (text: String, figures: [(declared: String, written: String)]) {
        let lines = text.components(separatedBy: "\n")
        var out: [String] = []
        var figures: [(String, String)] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            out.append(line)
            i += 1
            guard line.trimmingCharacters(in: .whitespaces) == "```llmsim" else { continue }
            let blockStart = i
            var commands: [String] = []
            while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces) != "```" {
                commands.append(lines[i]); out.append(lines[i]); i += 1
            }
            guard i < lines.count else { throw NotebookError(description: "\(path):\(blockStart): the llmsim block is not closed with ```") }
            out.append(lines[i]); i += 1
            // Skip an existing output section (and the blank lines before it).
            var j = i
            while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces).isEmpty { j += 1 }
            if j < lines.count, lines[j] == Self.outputStart {
                guard let end = lines[j...].firstIndex(of: Self.outputEnd) else {
                    throw NotebookError(description: "\(path):\(j + 1): output section without '\(Self.outputEnd)'")
                }
                i = end + 1
            }
            var section: [String] = [Self.outputStart]
            for (n, command) in commands.enumerated() {
                let trimmed = command.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                let mayFail = trimmed.hasPrefix("!")
                var args = try Self.split(mayFail ? String(trimmed.dropFirst()) : trimmed, at: "\(path):\(blockStart + n + 1)")
                if args.first == "llmsim" { args.removeFirst() }
                var svg: String?
                if let k = args.firstIndex(of: "--svg"), k + 1 < args.count {
                    svg = args[k + 1]
                    args[k + 1] = svgRedirect(args[k + 1])
                    figures.append((svg!, args[k + 1]))
                }
                let result = try run(args)
                guard result.status == 0 || mayFail else {
                    throw NotebookError(description: "\(path):\(blockStart + n + 1): `llmsim \(trimmed)` failed (exit \(result.status)): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
                let body = result.stdout.components(separatedBy: "\n").filter { !$0.hasPrefix("wrote ") }
                    .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                    + (result.status != 0 ? "\n(exit status \(result.status))" : "")
                if !body.isEmpty {
                    if section.count > 1 { section.append("") }
                    if args.contains("--markdown") { section += [body] } else { section += ["```text", body, "```"] }
                }
                if let svg {
                    if section.count > 1 { section.append("") }
                    let title = args.firstIndex(of: "--title").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil } ?? (svg as NSString).lastPathComponent
                    section.append("![\(title)](\(Self.relative(svg, from: (path as NSString).deletingLastPathComponent)))")
                }
            }
            if section.last?.hasPrefix("|") == true { section.append("") }
            section.append(Self.outputEnd)
            out += section
        }
        return (out.joined(separator: "\n"), figures)
    }

    /// Differences between the stored notebook (and its figures) and a fresh run; empty when
    /// they agree byte for byte.
    public func check(run: Runner, scratch: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var n = 0
        let fresh = try rendered(run: run) { declared in
            n += 1
            return (scratch as NSString).appendingPathComponent("\(n)-" + (declared as NSString).lastPathComponent)
        }
        var problems: [String] = []
        if fresh.text != text {
            let a = text.components(separatedBy: "\n"), b = fresh.text.components(separatedBy: "\n")
            let k = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            problems.append("\(path):\(k + 1): stored output differs from a fresh run:\n  stored: \(k < a.count ? a[k] : "<end of file>")\n  fresh:  \(k < b.count ? b[k] : "<end of file>")")
        }
        for (declared, written) in fresh.figures {
            let stored = FileManager.default.contents(atPath: declared)
            let now = FileManager.default.contents(atPath: written)
            if stored == nil { problems.append("\(declared): the figure is missing (run llmsim notebook run \(path))") }
            else if stored != now { problems.append("\(declared): the figure differs from a fresh run") }
        }
        return problems
    }

    /// Splits a command line into arguments: whitespace separates, single or double quotes group.
    static func split(_ line: String, at location: String) throws -> [String] {
        var args: [String] = [], current = "", quote: Character?, inArg = false
        for ch in line {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch; inArg = true
            } else if ch.isWhitespace {
                if inArg { args.append(current); current = ""; inArg = false }
            } else {
                current.append(ch); inArg = true
            }
        }
        if quote != nil { throw NotebookError(description: "\(location): unclosed quote in `\(line)`") }
        if inArg { args.append(current) }
        return args
    }

    /// `target` relative to the folder `base` (both relative to the current directory).
    static func relative(_ target: String, from base: String) -> String {
        let t = (target as NSString).standardizingPath.split(separator: "/").map(String.init)
        let b = base.isEmpty ? [] : (base as NSString).standardizingPath.split(separator: "/").map(String.init)
        var k = 0
        while k < t.count, k < b.count, t[k] == b[k] { k += 1 }
        return (Array(repeating: "..", count: b.count - k) + t[k...]).joined(separator: "/")
    }
}
