import Foundation
import GRDB
import GRDBSQLite

/// The single `audit_state` row: where the next append continues. It is read and written inside
/// the caller's write transaction, so appends from several connections or processes serialise on
/// SQLite's write lock and extend one chain. The verifier recomputes it rather than trusting it.
struct AuditState {
    var frontier: MerkleFrontier
    var lastMAC: [UInt8]
    var lastTime: Int64

    static func read(_ db: Database) throws -> AuditState {
        let statement = try db.cachedStatement(sql: "SELECT size, frontier, last_mac, last_time FROM audit_state WHERE id = 1")
        let cursor = try Row.fetchCursor(statement)
        guard try cursor.next() != nil else { throw AuditError.stateMissing }
        let raw = statement.sqliteStatement
        guard sqlite3_column_type(raw, 0) == SQLITE_INTEGER, sqlite3_column_type(raw, 3) == SQLITE_INTEGER,
              sqlite3_column_type(raw, 1) == SQLITE_BLOB, sqlite3_column_type(raw, 2) == SQLITE_BLOB
        else {
            throw AuditError.stateMalformed
        }
        let hashes = [UInt8](UnsafeRawBufferPointer(start: sqlite3_column_blob(raw, 1), count: Int(sqlite3_column_bytes(raw, 1))))
        let mac = [UInt8](UnsafeRawBufferPointer(start: sqlite3_column_blob(raw, 2), count: Int(sqlite3_column_bytes(raw, 2))))
        guard mac.count == AuditChain.macByteCount else { throw AuditError.stateMalformed }
        return AuditState(
            frontier: try MerkleFrontier(size: sqlite3_column_int64(raw, 0), hashes: hashes), lastMAC: mac,
            lastTime: sqlite3_column_int64(raw, 3))
    }

    func write(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "UPDATE audit_state SET size = ?, frontier = ?, last_mac = ?, last_time = ? WHERE id = 1")
        try statement.execute(arguments: [frontier.size, Data(frontier.hashes), Data(lastMAC), lastTime])
    }
}
