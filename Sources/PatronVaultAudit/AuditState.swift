import Foundation
import GRDB
import GRDBSQLite

/// The single `audit_state` row: where the next append continues. It is read and written inside
/// the caller's write transaction, so appends from several connections or processes serialise on
/// SQLite's write lock and extend one chain. The verifier recomputes it rather than trusting it.
struct AuditState {
    static let selectSQL = "SELECT size, frontier, last_mac, last_time FROM audit_state WHERE id = 1"
    static let updateSQL = "UPDATE audit_state SET size = ?, frontier = ?, last_mac = ?, last_time = ? WHERE id = 1"

    var frontier: MerkleFrontier
    var lastMAC: [UInt8]
    var lastTime: Int64

    /// Steps the cached statement through the SQLite API rather than a GRDB cursor: a cursor
    /// costs as much as the rest of the read, and this runs on every append.
    static func read(_ db: Database) throws -> AuditState {
        let raw = try db.cachedStatement(sql: selectSQL).sqliteStatement
        sqlite3_reset(raw)
        defer { sqlite3_reset(raw) }
        switch sqlite3_step(raw) {
        case SQLITE_ROW:
            break
        case SQLITE_DONE:
            throw AuditError.stateMissing
        case let code:
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: selectSQL)
        }
        guard sqlite3_column_type(raw, 0) == SQLITE_INTEGER, sqlite3_column_type(raw, 3) == SQLITE_INTEGER,
              sqlite3_column_type(raw, 1) == SQLITE_BLOB, sqlite3_column_type(raw, 2) == SQLITE_BLOB
        else {
            throw AuditError.stateMalformed
        }
        let hashes = UnsafeRawBufferPointer(start: sqlite3_column_blob(raw, 1), count: Int(sqlite3_column_bytes(raw, 1)))
        let mac = UnsafeRawBufferPointer(start: sqlite3_column_blob(raw, 2), count: Int(sqlite3_column_bytes(raw, 2)))
        guard mac.count == AuditChain.macByteCount else { throw AuditError.stateMalformed }
        return AuditState(
            frontier: try MerkleFrontier(size: sqlite3_column_int64(raw, 0), hashes: hashes), lastMAC: [UInt8](mac),
            lastTime: sqlite3_column_int64(raw, 3))
    }

    func write(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: Self.updateSQL)
        try frontier.withHashes { hashes in
            try lastMAC.withUnsafeBytes { mac in
                try statement.executeBinding { raw in
                    try Statement.bind(raw, 1, int64: frontier.size)
                    try Statement.bind(raw, 2, blob: hashes)
                    try Statement.bind(raw, 3, blob: mac)
                    try Statement.bind(raw, 4, int64: lastTime)
                }
            }
        }
    }
}
