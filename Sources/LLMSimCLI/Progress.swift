import Experiments
import Foundation

/// Progress of a sweep on stderr: a bar redrawn in place on a terminal, one plain line per
/// point otherwise (logs, CI). Stdout stays for the results.
final class Progress: @unchecked Sendable {
    let total: Int
    let label: String
    let interactive: Bool
    let start = Date()
    var done: Int
    var infeasible = 0

    init(total: Int, alreadyDone: Int, label: String) {
        self.total = total
        self.label = label
        done = alreadyDone
        interactive = isatty(STDERR_FILENO) != 0
        if alreadyDone > 0 { write("\(label): resuming, \(alreadyDone) of \(total) points already in the database\n") }
    }

    func advance(point: Int, outcome: PointOutcome) {
        done += 1
        if outcome.status == .infeasible { infeasible += 1 }
        let elapsed = String(format: "%.1f s", Date().timeIntervalSince(start))
        if interactive {
            let width = 30, filled = total == 0 ? width : width * done / total
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            write("\r\(label) [\(bar)] \(done)/\(total) points, \(infeasible) infeasible, \(elapsed)")
        } else {
            let summary = outcome.status == .ok ? outcome.value("step_time_s").map { String(format: "step %.3f s", $0) } ?? "ok" : "infeasible"
            write("\(label): point \(point) done (\(summary)); \(done)/\(total), \(elapsed)\n")
        }
    }

    func finish(database: String?) {
        if interactive { write("\n") }
        write("\(label): \(done) of \(total) points\(infeasible > 0 ? ", \(infeasible) infeasible" : "")\(database.map { ", results in \($0)" } ?? "")\n")
    }

    private var signalSources: [DispatchSourceSignal] = []

    /// On Ctrl-C (SIGINT) or SIGTERM: say how many points are safely stored and how to finish,
    /// then exit 130. Finished points are already committed; the ones in flight are redone by
    /// `--resume`.
    func exitOnInterrupt(resumeCommand: String?) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                write("\n\(label): interrupted; \(done) of \(total) points are stored" + (resumeCommand.map { ". Finish with: \($0)" } ?? "") + "\n")
                exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
