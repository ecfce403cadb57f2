import CSQLite

/// One SQLite connection, used from one thread at a time (the outbox's disk queue).
/// Small on purpose: run a statement with bound values, get its rows back.
final class SQLiteDatabase {
    enum Value: Equatable, Sendable {
        case int(Int64)
        case text(String)
        case null

        var int: Int64? { if case .int(let v) = self { v } else { nil } }
        var text: String? { if case .text(let v) = self { v } else { nil } }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// SQLITE_CORRUPT or SQLITE_NOTADB: the file is not a usable database.
        let corrupt: Bool
    }

    private let handle: OpaquePointer

    init(path: String) throws(Failure) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw Failure(description: message, corrupt: rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
        }
        handle = db
        sqlite3_busy_timeout(db, 2000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one statement and returns every row it produced.
    @discardableResult
    func run(_ sql: String, _ values: [Value] = []) throws(Failure) -> [[Value]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure()
        }
        defer { sqlite3_finalize(statement) }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .int(let v): sqlite3_bind_int64(statement, position, v)
            case .text(let v): parley_sqlite_bind_text(statement, position, v)
            case .null: sqlite3_bind_null(statement, position)
            }
        }
        var rows: [[Value]] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                rows.append((0..<sqlite3_column_count(statement)).map { column in
                    switch sqlite3_column_type(statement, column) {
                    case SQLITE_INTEGER: .int(sqlite3_column_int64(statement, column))
                    case SQLITE_NULL: .null
                    default: .text(String(cString: sqlite3_column_text(statement, column)))
                    }
                })
            case SQLITE_DONE:
                return rows
            default:
                throw failure()
            }
        }
    }

    /// `body` inside one transaction: all of it lands, or none.
    func transaction<T>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        try run("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
    }

    private func failure() -> Failure {
        let code = sqlite3_errcode(handle) & 0xff
        return Failure(description: String(cString: sqlite3_errmsg(handle)),
                       corrupt: code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
    }
}
