import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The durable queue: SQLite in WAL mode with synchronous=FULL, so a transcript that was
/// accepted survives a crash or power loss. Oldest first; a transcript leaves the queue only
/// when the endpoint took it, or moves to `rejected` (still on disk) when it refused it for good.
struct TranscriptStore {
    struct Queued: Equatable {
        var id: Int64
        var transcript: Transcript
        var attempts: Int
    }

    private let db: SQLiteDatabase
    /// Set aside at open: the file was not a database.
    private(set) var recoveredFrom: String?

    init(path: String) throws(SQLiteDatabase.Failure) {
        do {
            db = try Self.open(path)
        } catch where error.corrupt {
            // A torn or foreign file must not stop the device: keep it for inspection, start empty.
            let aside = "\(path).corrupt-\(Int(Date().timeIntervalSince1970))"
            for suffix in ["", "-wal", "-shm"] { rename(path + suffix, aside + suffix) }
            recoveredFrom = aside
            db = try Self.open(path)
        }
    }

    private static func open(_ path: String) throws(SQLiteDatabase.Failure) -> SQLiteDatabase {
        let db = try SQLiteDatabase(path: path)
        let mode = try db.run("PRAGMA journal_mode=WAL").first?.first?.text
        guard mode == "wal" else {
            throw SQLiteDatabase.Failure(description: "journal_mode WAL refused (got \(mode ?? "nothing"))", corrupt: false)
        }
        try db.run("PRAGMA synchronous=FULL")
        try db.run("""
            CREATE TABLE IF NOT EXISTS outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, role TEXT NOT NULL,
                content TEXT NOT NULL, device_id TEXT NOT NULL, created_at TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0)
            """)
        try db.run("""
            CREATE TABLE IF NOT EXISTS rejected (
                id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
                device_id TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL,
                reason TEXT NOT NULL, rejected_at TEXT NOT NULL)
            """)
        _ = try db.run("SELECT count(*) FROM outbox")  // reads a page: a corrupt file fails here
        return db
    }

    func count(_ table: String = "outbox") throws(SQLiteDatabase.Failure) -> Int {
        Int(try db.run("SELECT count(*) FROM \(table)").first?.first?.int ?? 0)
    }

    func append(_ t: Transcript) throws(SQLiteDatabase.Failure) {
        try db.run("INSERT INTO outbox (user_id, role, content, device_id, created_at) VALUES (?, ?, ?, ?, ?)",
                   [.text(t.userID), .text(t.role), .text(t.content), .text(t.deviceID), .text(t.createdAt)])
    }

    func oldest() throws(SQLiteDatabase.Failure) -> Queued? {
        let rows = try db.run(
            "SELECT id, user_id, role, content, device_id, created_at, attempts FROM outbox ORDER BY id LIMIT 1")
        guard let row = rows.first, row.count == 7, let id = row[0].int else { return nil }
        return Queued(
            id: id,
            transcript: Transcript(userID: row[1].text ?? "", role: row[2].text ?? "", content: row[3].text ?? "",
                                   deviceID: row[4].text ?? "", createdAt: row[5].text ?? ""),
            attempts: Int(row[6].int ?? 0))
    }

    func delivered(_ id: Int64) throws(SQLiteDatabase.Failure) {
        try db.run("DELETE FROM outbox WHERE id = ?", [.int(id)])
    }

    func attempted(_ id: Int64) throws(SQLiteDatabase.Failure) {
        try db.run("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", [.int(id)])
    }

    func reject(_ id: Int64, reason: String) throws(SQLiteDatabase.Failure) {
        try db.transaction { () throws(SQLiteDatabase.Failure) in
            try db.run("""
                INSERT INTO rejected SELECT id, user_id, role, content, device_id, created_at, attempts + 1, ?, ?
                FROM outbox WHERE id = ?
                """, [.text(reason), .text(Transcript.timestamp()), .int(id)])
            try db.run("DELETE FROM outbox WHERE id = ?", [.int(id)])
        }
    }
}
