import Foundation
import Testing
@testable import ResultsDB

@Suite struct DatabaseTests {
    @Test func roundTripsValuesOfEveryType() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, n TEXT)")
        try db.query("INSERT INTO t VALUES (?, ?, ?, ?)", [.integer(42), .real(19.926), .text("dualpipe"), .null])
        let rows = try db.query("SELECT i, r, s, n FROM t")
        #expect(rows == [[.integer(42), .real(19.926), .text("dualpipe"), .null]])
        #expect(try db.columnNames("SELECT i, r FROM t") == ["i", "r"])
    }

    @Test func failedTransactionLeavesNothing() throws {
        let db = try Database(path: ":memory:")
        try db.execute("CREATE TABLE t (i INTEGER PRIMARY KEY)")
        #expect(throws: DatabaseError.self) {
            try db.transaction {
                try db.query("INSERT INTO t VALUES (1)")
                try db.query("INSERT INTO t VALUES (1)")   // violates the primary key
            }
        }
        #expect(try db.query("SELECT count(*) FROM t") == [[.integer(0)]])
    }

    @Test func committedRowsSurviveReopening() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("llmsim-db-\(UUID().uuidString).sqlite").path
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        do {
            let db = try Database(path: path)
            try db.execute("CREATE TABLE points (id INTEGER PRIMARY KEY, step_s REAL)")
            try db.transaction { try db.query("INSERT INTO points VALUES (1, 19.9)") }
        }
        let again = try Database(path: path)
        #expect(try again.query("SELECT step_s FROM points WHERE id = 1") == [[.real(19.9)]])
    }

    @Test func badSQLNamesTheStatement() throws {
        let db = try Database(path: ":memory:")
        do {
            try db.query("SELEC 1")
            Issue.record("expected an error")
        } catch let error as DatabaseError {
            #expect(error.description.contains("SELEC 1"))
        }
        #expect(throws: DatabaseError.self) { try Database(path: "/nonexistent-dir/x.sqlite") }
    }
}
