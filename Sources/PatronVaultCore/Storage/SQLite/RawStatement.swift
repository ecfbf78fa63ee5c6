import Foundation
import GRDB
import GRDBSQLite

/// A cached statement driven through SQLite's C API, for the few queries every lookup makes:
/// GRDB's generic fetching and argument arrays cost more there than the queries themselves
/// (metadata lookups, existential boxes, retain and release per column). Everything else uses GRDB.
///
/// Blobs are bound as transient copies, so no Swift buffer has to outlive the call.
struct RawStatement {
    private let raw: SQLiteStatement
    private let db: Database

    init(_ statement: Statement, in db: Database) {
        raw = statement.sqliteStatement
        self.db = db
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            _ = sqlite3_bind_blob(raw, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count), Self.transient)
        }
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(raw, index, value)
    }

    /// NULL for nil.
    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(raw, index, value) } else { sqlite3_bind_null(raw, index) }
    }

    func bind(_ index: Int32, _ bytes: [UInt8]?) {
        if let bytes { bind(index, bytes) } else { sqlite3_bind_null(raw, index) }
    }

    /// How many columns each row has.
    var columnCount: Int32 { sqlite3_column_count(raw) }

    /// Steps once: true for a row, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(raw) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            sqlite3_reset(raw)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Runs a statement that returns no rows, then resets it for the next bindings.
    func execute() throws {
        defer { reset() }
        while try step() {}
    }

    /// Leaves the statement ready for its next use and releases its read of the database.
    func reset() {
        sqlite3_reset(raw)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(raw, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(raw, column)
    }

    func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let base = sqlite3_column_blob(raw, column) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: base, count: count))
    }

    func optionalBytes(_ column: Int32) -> [UInt8]? {
        isNull(column) ? nil : bytes(column)
    }
}
