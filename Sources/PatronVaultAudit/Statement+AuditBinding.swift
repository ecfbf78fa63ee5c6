import GRDB
import GRDBSQLite

/// Binds values straight through the SQLite API, pointing at bytes the caller already holds
/// (SQLITE_STATIC), instead of boxing each one in a `DatabaseValue` array: an append binds
/// nineteen values and must stay a few microseconds. Execution still goes through GRDB, so its
/// transaction bookkeeping and error reporting are unchanged.
extension Statement {
    /// Resets the statement, lets `bind` bind every parameter, executes it, and clears the
    /// bindings so no pointer outlives the caller's buffers.
    func executeBinding(_ bind: (SQLiteStatement) throws -> Void) throws {
        let raw = sqliteStatement
        if arguments.isEmpty {
            // GRDB refuses to execute a statement it believes has no arguments bound; give it
            // placeholders once per cached statement, which the raw bindings then replace.
            setUncheckedArguments(StatementArguments(
                [DatabaseValue](repeating: .null, count: Int(sqlite3_bind_parameter_count(raw)))))
        }
        sqlite3_reset(raw)
        defer { sqlite3_clear_bindings(raw) }
        try bind(raw)
        try execute()
    }

    static func bind(_ raw: SQLiteStatement, _ index: Int32, int64 value: Int64) throws {
        try check(sqlite3_bind_int64(raw, index, value))
    }

    static func bind(_ raw: SQLiteStatement, _ index: Int32, text bytes: UnsafeRawBufferPointer) throws {
        // A null pointer would bind NULL, not the empty string.
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        try check(sqlite3_bind_text(raw, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil))
    }

    static func bind(_ raw: SQLiteStatement, _ index: Int32, blob bytes: UnsafeRawBufferPointer) throws {
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        try check(sqlite3_bind_blob(raw, index, base, Int32(bytes.count), nil))
    }

    static func bindNull(_ raw: SQLiteStatement, _ index: Int32) throws {
        try check(sqlite3_bind_null(raw, index))
    }

    private static func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
    }
}
