import Foundation
import Synchronization
import Hardware
import ResultsDB
import Testing
@testable import Experiments

@Suite struct ResultsStoreTests {
    func sweepFile(_ dir: String, points: Int = 4) throws -> ExperimentFile {
        let values = (1...points).map { String(4 * $0) }.joined(separator: ", ")
        return try ExperimentFile.load(path: try write("base: \(llamaBase)\nsweep:\n  grid:\n    microbatches: [\(values)]\n", "store.yaml", in: dir))
    }

    @Test("points round-trip: parameters in order, outputs by name, status and reason")
    func roundTrip() throws {
        let dir = try scratchDirectory("store")
        let file = try sweepFile(dir)
        let store = try ResultsStore(path: (dir as NSString).appendingPathComponent("r.sqlite"))
        let points = try file.points(hardware: try HardwareCatalog.builtIn())
        let (id, done) = try store.begin(file, points: points.count, parameterKeys: ["microbatches"], resume: false)
        #expect(done.isEmpty)
        let outcome = PointOutcome(status: .infeasible, reason: "does not fit: \"quoted\"\nnext line", outputs: [("step_time_s", 1.25), ("gpus", 3072)])
        try store.record(experimentID: id, point: points[1], outcome: outcome)
        let rows = try store.rows(experiment: "store")
        #expect(rows.count == 1)
        #expect(rows[0].point == 1)
        #expect(rows[0].parameters.map(\.key) == ["microbatches"] && rows[0].parameters[0].value == "8")
        #expect(rows[0].outputs.map(\.name) == ["gpus", "step_time_s"])       // catalog order
        #expect(rows[0].number("step_time_s") == 1.25)
        #expect(rows[0].reason == outcome.reason && rows[0].status == "infeasible")
        // The experiment's text, hash and version are stored.
        let meta = try store.database.query("SELECT text, hash, llmsim_version, points FROM experiments")
        #expect(meta[0] == [.text(file.text), .text(file.hash), .text(LLMSimVersion.current), .integer(4)])
    }

    @Test("resume keeps finished points and refuses a changed file; a plain rerun replaces")
    func resumeRules() throws {
        let dir = try scratchDirectory("resume")
        let db = (dir as NSString).appendingPathComponent("r.sqlite")
        let file = try sweepFile(dir)
        let points = try file.points(hardware: try HardwareCatalog.builtIn())
        do {
            let store = try ResultsStore(path: db)
            let id = try store.begin(file, points: 4, parameterKeys: ["microbatches"], resume: false).id
            try store.record(experimentID: id, point: points[0], outcome: PointOutcome(status: .ok, reason: "", outputs: [("gpus", 1)]))
            try store.record(experimentID: id, point: points[2], outcome: PointOutcome(status: .ok, reason: "", outputs: [("gpus", 1)]))
            // The primary key forbids a duplicate point.
            #expect(throws: DatabaseError.self) { try store.record(experimentID: id, point: points[0], outcome: PointOutcome(status: .ok, reason: "", outputs: [])) }
        }
        let store = try ResultsStore(path: db)
        #expect(try store.begin(file, points: 4, parameterKeys: ["microbatches"], resume: true).finished == [0, 2])
        let changed = try sweepFile(dir, points: 5)
        #expect(throws: ResultsStore.StoreError.self) { _ = try store.begin(changed, points: 5, parameterKeys: ["microbatches"], resume: true) }
        // Results another llmsim version stored are not resumed either.
        try store.database.query("UPDATE experiments SET llmsim_version = '0.0.1'")
        #expect { _ = try store.begin(file, points: 4, parameterKeys: ["microbatches"], resume: true) } throws: { "\($0)".contains("llmsim 0.0.1") }
        #expect(try store.begin(file, points: 4, parameterKeys: ["microbatches"], resume: false).finished.isEmpty)
        #expect(try store.rows().isEmpty)
        #expect(try store.experiments() == ["store"])
    }

    /// Two runs of one experiment on one file at once: the second (without --resume) replaces
    /// the first's results, and the first then stops with an error that says so instead of
    /// writing points under an experiment that is gone (or under the second's, with an id
    /// reused).
    @Test func aReplacedRunStopsWithAClearError() throws {
        let dir = try scratchDirectory("replaced")
        let db = (dir as NSString).appendingPathComponent("r.sqlite")
        let file = try sweepFile(dir)
        let points = try file.points(hardware: try HardwareCatalog.builtIn())
        let first = try ResultsStore(path: db), second = try ResultsStore(path: db)
        let a = try first.begin(file, points: 4, parameterKeys: ["microbatches"], resume: false).id
        try first.record(experimentID: a, point: points[0], outcome: PointOutcome(status: .ok, reason: "", outputs: [("gpus", 1)]))
        let b = try second.begin(file, points: 4, parameterKeys: ["microbatches"], resume: false).id
        #expect(b != a)
        do {
            try first.record(experimentID: a, point: points[1], outcome: PointOutcome(status: .ok, reason: "", outputs: [("gpus", 1)]))
            Issue.record("the replaced run wrote on")
        } catch let e as ResultsStore.StoreError {
            #expect(e.description.contains("another llmsim run replaced") && e.description.contains("--db"))
        }
        try second.record(experimentID: b, point: points[1], outcome: PointOutcome(status: .ok, reason: "", outputs: [("gpus", 1)]))
        #expect(try second.rows().map(\.point) == [1])
    }

    @Test func filters() throws {
        let row = ResultRow(experiment: "e", experimentID: 1, point: 3, status: "ok", reason: "",
                            parameters: [("parallel.pp", "16"), ("schedule", "dualpipe")], outputs: [("step_time_s", 20.3)])
        #expect(try ResultFilter(parsing: "parallel.pp=16").matches(row))
        #expect(try ResultFilter(parsing: "parallel.pp>=16.0").matches(row))
        #expect(try !ResultFilter(parsing: "step_time_s<20").matches(row))
        #expect(try ResultFilter(parsing: "schedule!=zb1p").matches(row))
        #expect(try ResultFilter(parsing: "status=ok").matches(row))
        #expect(throws: ResultFilter.FilterError.self) { try ResultFilter(parsing: "parallel.pp") }
        #expect(throws: ResultFilter.FilterError.self) { try ResultFilter(parsing: "bogus=1").check(against: [row]) }
    }
}

/// Issue 6: "Interrupted with Ctrl-C or killed, a rerun with --resume finishes the missing
/// points and never duplicates or loses a finished one; a test proves it by killing a run."
@Suite(.serialized) struct KilledRunTests {
    @Test("SIGKILL half-way, then --resume: every point once, finished ones unchanged")
    func killAndResume() throws {
        let exe = repoRoot.appendingPathComponent(".build/debug/llmsim").path
        try #require(FileManager.default.isExecutableFile(atPath: exe), "build the executable first (make test runs swift build)")
        let dir = try scratchDirectory("kill")
        let experiment = try write("base: \(llamaBase)\nsweep:\n  grid:\n    microbatches: [4, 8, 12, 16, 20, 24]\n    schedule: [1f1b, zb1p]\n", "kill.yaml", in: dir)
        let db = (dir as NSString).appendingPathComponent("kill.sqlite")
        func launch(_ extra: [String]) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["run", experiment, "--db", db] + extra
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let slow = try launch(["--workers", "1", "--point-delay-ms", "200"])
        let deadline = Date().addingTimeInterval(60)
        var seen = 0
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: db), let n = try? ResultsStore(path: db).rows().count { seen = n }
            if seen >= 3 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(slow.processIdentifier, SIGKILL)
        slow.waitUntilExit()
        #expect(slow.terminationReason == .uncaughtSignal)
        let before = try ResultsStore(path: db).rows()
        #expect(before.count >= 3 && before.count < 12, "killed after \(before.count) of 12 points")

        let resumed = try launch(["--resume"])
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 0)
        let after = try ResultsStore(path: db).rows()
        #expect(after.map(\.point) == Array(0..<12))
        for row in before { #expect(after.first { $0.point == row.point } == row) }

        // Resuming a finished run adds nothing; a fresh run gives the same values.
        let again = try launch(["--resume"]); again.waitUntilExit()
        #expect(try ResultsStore(path: db).rows() == after)
        let freshDB = (dir as NSString).appendingPathComponent("fresh.sqlite")
        let fresh = Process()
        fresh.executableURL = URL(fileURLWithPath: exe)
        fresh.arguments = ["run", experiment, "--db", freshDB]
        fresh.standardOutput = FileHandle.nullDevice; fresh.standardError = FileHandle.nullDevice
        try fresh.run(); fresh.waitUntilExit()
        #expect(try ResultsStore(path: freshDB).rows() == after)
    }
}

/// A sweep and a reader (`llmsim results`, or a script polling the file) that open a new results
/// file at the same moment must both get it: the schema is created in a write transaction taken
/// up front and the switch to WAL waits for the other's lock, so neither fails with SQLite's
/// "database is locked".
@Suite struct ConcurrentOpenTests {
    @Test func openersOfANewFileAllSucceed() throws {
        let dir = try scratchDirectory("concurrent")
        let failures = Mutex(0)
        for round in 0..<25 {
            let path = (dir as NSString).appendingPathComponent("r\(round).sqlite")
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do { _ = try ResultsStore(path: path).rows() } catch { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }
}
