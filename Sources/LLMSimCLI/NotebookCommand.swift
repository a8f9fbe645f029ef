import ArgumentParser
import Experiments
import Foundation

/// What `notebook run` or `check` did to one file (the `--json` output).
struct NotebookStatus: Encodable {
    var file: String
    var figures: [String]
    var differences: [String]
}

/// `llmsim notebook run|check FILE…`: refresh or verify the live outputs of markdown notebooks.
struct NotebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notebook", abstract: "Markdown notebooks with live llmsim results (notebooks-md/).",
        subcommands: [Run.self, Check.self])

    /// Runs one llmsim command line in a child process of this same executable.
    static func runner(_ args: [String]) throws -> Notebook.CommandResult {
        let process = Process()
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting (a full pipe would block the child).
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Notebook.CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                                      stderr: String(decoding: errData, as: UTF8.self))
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run every llmsim block and write its output back into the notebook.")
        @Argument(help: "Notebook files, e.g. notebooks-md/deepseek-v3-reproduction.md.") var files: [String]
        @Flag(help: "Print JSON with stable keys.") var json = false

        func run() throws {
            try Output.reportingErrors {
                var report: [NotebookStatus] = []
                for file in files {
                    let notebook = try Notebook(path: file)
                    let fresh = try notebook.rendered(run: NotebookCommand.runner)
                    try fresh.text.write(toFile: file, atomically: true, encoding: .utf8)
                    report.append(NotebookStatus(file: file, figures: fresh.figures.map(\.declared), differences: []))
                    if !json { print("\(file): outputs refreshed (\(fresh.figures.count) figure\(fresh.figures.count == 1 ? "" : "s"))") }
                }
                if json { print(try Output.json(report)) }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fail if a notebook's stored outputs differ from a fresh run.")
        @Argument(help: "Notebook files.") var files: [String]
        @Flag(help: "Print JSON with stable keys.") var json = false

        func run() throws {
            try Output.reportingErrors {
                var problems: [String] = []
                var report: [NotebookStatus] = []
                for file in files {
                    let scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("llmsim-notebook-\(ProcessInfo.processInfo.processIdentifier)")
                    defer { try? FileManager.default.removeItem(atPath: scratch) }
                    let found = try Notebook(path: file).check(run: NotebookCommand.runner, scratch: scratch)
                    problems += found
                    report.append(NotebookStatus(file: file, figures: [], differences: found))
                    if !json { print("\(file): \(found.isEmpty ? "up to date" : "\(found.count) difference(s)")") }
                }
                if json { print(try Output.json(report)) }
                if !problems.isEmpty {
                    FileHandle.standardError.write(Data((problems.joined(separator: "\n") + "\nrefresh with: llmsim notebook run FILE\n").utf8))
                    throw ExitCode(1)
                }
            }
        }
    }
}
