import CSQLite

/// A SQLite error, with the statement that caused it.
public struct DatabaseError: Error, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var sql: String?
    public var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " (in: \($0))" } ?? "")
    }
}

/// A value stored in or read from a SQLite column.
public enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// The one Swift wrapper over SQLite (`libsqlite3-dev`); nothing else imports CSQLite.
///
/// Opened in WAL mode with `synchronous=NORMAL`: a committed transaction survives the process
/// being killed, which is what a results database needs (a sweep interrupted half-way keeps
/// every point it finished).
public final class Database {
    let handle: OpaquePointer
    public let path: String

    /// Opens (creating if needed) the database at `path`; `":memory:"` for an in-memory one.
    public init(path: String) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close(db) }
            throw DatabaseError(code: rc, message: "\(message): \(path)", sql: nil)
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, Self.busyTimeoutMilliseconds)
        if path != ":memory:" { try retryingWhileBusy { try execute("PRAGMA journal_mode=WAL") } }
        try execute("PRAGMA synchronous=NORMAL")
    }

    deinit { sqlite3_close_v2(handle) }

    /// How long a statement waits for another process's lock before failing, milliseconds
    /// (long enough for any one transaction of a sweep; short enough to report a stuck writer).
    static let busyTimeoutMilliseconds: Int32 = 5000

    /// Runs `body` again while SQLite answers SQLITE_BUSY, every 10 ms up to the busy timeout:
    /// switching a new file to WAL needs an exclusive lock, and SQLite may refuse it at once
    /// rather than wait when another process opens the same new file at the same moment.
    func retryingWhileBusy(_ body: () throws -> Void) throws {
        var waited: Int32 = 0
        while true {
            do { return try body() } catch let e as DatabaseError where e.code & 0xff == SQLITE_BUSY && waited < Self.busyTimeoutMilliseconds {
                sqlite3_sleep(10)
                waited += 10
            }
        }
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown"
            sqlite3_free(error)
            throw DatabaseError(code: rc, message: message, sql: sql)
        }
    }

    /// Runs one statement with bound parameters (`?` placeholders); returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [[SQLValue]] {
        var statement: OpaquePointer?
        var rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw lastError(rc, sql) }
        defer { sqlite3_finalize(statement) }
        for (i, value) in parameters.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .real(let v): rc = sqlite3_bind_double(statement, index, v)
            case .text(let v): rc = sqlite3_bind_text(statement, index, v, -1, Self.transient)
            }
            guard rc == SQLITE_OK else { throw lastError(rc, sql) }
        }
        var rows: [[SQLValue]] = []
        while true {
            rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw lastError(rc, sql) }
            rows.append((0..<sqlite3_column_count(statement)).map { column(statement, $0) })
        }
        return rows
    }

    /// Column names of a query's result, in order.
    public func columnNames(_ sql: String) throws -> [String] {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw lastError(rc, sql) }
        defer { sqlite3_finalize(statement) }
        return (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) }
    }

    /// Runs `body` inside one transaction: all of it is committed, or none of it.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    private func column(_ statement: OpaquePointer, _ i: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, i))
        case SQLITE_NULL: return .null
        default: return .text(String(cString: sqlite3_column_text(statement, i)))
        }
    }

    private func lastError(_ rc: Int32, _ sql: String) -> DatabaseError {
        DatabaseError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// SQLITE_TRANSIENT: SQLite copies bound text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
