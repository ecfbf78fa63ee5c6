import Foundation
import GRDB

extension AuditTrail {
    /// Signs the current tree head and stores it; export its `text` to somewhere outside the vault
    /// to make truncation detectable. Returns the stored checkpoint unchanged if one already covers
    /// the current size. The checkpoint time is never earlier than the last entry's.
    @discardableResult
    public func checkpoint(at time: Date, in db: Database) throws -> AuditCheckpoint {
        guard db.isInsideTransaction else { throw AuditError.outsideTransaction }
        let state = try AuditState.read(db)
        return try storeCheckpoint(frontier: state.frontier, time: max(try time.auditMicroseconds(), state.lastTime), in: db)
    }

    /// The checkpoint covering the most entries, if any.
    public func latestCheckpoint(in db: Database) throws -> AuditCheckpoint? {
        try Self.checkpoints(sql: "SELECT size, root, time, key_id, signature FROM audit_checkpoint ORDER BY size DESC LIMIT 1", in: db).first
    }

    @discardableResult
    func storeCheckpoint(frontier: MerkleFrontier, time: Int64, in db: Database) throws -> AuditCheckpoint {
        let root = frontier.root()
        let existing = try Self.checkpoints(
            sql: "SELECT size, root, time, key_id, signature FROM audit_checkpoint WHERE size = ?",
            arguments: [frontier.size], in: db)
        if let existing = existing.first {
            guard existing.rootHash == root else { throw AuditError.checkpointConflict(frontier.size) }
            return existing
        }
        let checkpoint = AuditCheckpoint(size: frontier.size, rootHash: root, microseconds: time, signingKey: signingKey)
        let insert = try db.cachedStatement(
            sql: "INSERT INTO audit_checkpoint (size, root, time, key_id, signature) VALUES (?, ?, ?, ?, ?)")
        try insert.execute(arguments: [
            checkpoint.size, Data(checkpoint.rootHash), checkpoint.microseconds, Data(checkpoint.keyID), Data(checkpoint.signature),
        ])
        return checkpoint
    }

    /// Reads checkpoint rows; a row whose columns have the wrong type yields a checkpoint that
    /// fails signature verification rather than an error, so the verifier can name it.
    static func checkpoints(sql: String, arguments: StatementArguments = [], in db: Database) throws -> [AuditCheckpoint] {
        let statement = try db.cachedStatement(sql: sql)
        return try Row.fetchAll(statement, arguments: arguments).map { row in
            AuditCheckpoint(
                size: row[0] as Int64? ?? -1,
                rootHash: (row[1] as Data?).map { [UInt8]($0) } ?? [],
                microseconds: row[2] as Int64? ?? 0,
                keyID: (row[3] as Data?).map { [UInt8]($0) } ?? [],
                signature: (row[4] as Data?).map { [UInt8]($0) } ?? [])
        }
    }
}
