import Foundation
import GRDB
import PatronVaultCrypto

/// Recomputes the whole trail from its tables and reports the first entry that cannot be trusted.
///
/// Checks, in sequence order: sequence numbers contiguous from 1; column types and values in
/// canonical form; times never decreasing; the leaf hash of each canonical encoding; the keyed
/// MAC chain (with the MAC key); at each stored checkpoint's size, its Ed25519 signature and that
/// the recomputed Merkle root equals the signed one; the same for an external checkpoint; and
/// finally that `audit_state` agrees with the entries.
///
/// What it cannot see: without an external checkpoint, removing the newest entries together with
/// any checkpoints that cover them, and rewinding `audit_state` to match, leaves a consistent
/// shorter trail. Keep checkpoint texts outside the vault to close that gap. Without the MAC key,
/// an edit to entries newer than the last checkpoint goes unnoticed if the attacker also
/// recomputes the plain hashes in `audit_state`.
public struct AuditVerifier: Sendable {
    private let keys: AuditSigningKeys
    private let macKey: SymmetricKey?
    private let checkpointInterval: Int?

    /// Pass the MAC key when verifying inside the vault; an outside party passes nil and checks
    /// only what the public key can prove. With the trail's checkpoint interval, a signed
    /// checkpoint must stand at every multiple of it: deleting them is a failure, not "0 signed
    /// checkpoints verified".
    public init(verifyingKey: VerifyingKey, macKey: SymmetricKey?, checkpointInterval: Int? = nil) {
        self.init(keys: AuditSigningKeys(current: verifyingKey), macKey: macKey, checkpointInterval: checkpointInterval)
    }

    /// With the keys retired by rotations too, so checkpoints they signed before retiring verify.
    public init(keys: AuditSigningKeys, macKey: SymmetricKey?, checkpointInterval: Int? = nil) {
        self.keys = keys
        self.macKey = macKey
        self.checkpointInterval = checkpointInterval
    }

    /// Run inside a read (or write) transaction so the tables are one consistent snapshot.
    /// Throws if the external checkpoint is not signed by the verifying key, since it then proves
    /// nothing about the trail.
    public func verify(_ db: Database, against external: AuditCheckpoint? = nil) throws -> AuditVerification {
        if let external, !keys.accept(external) {
            throw AuditError.externalCheckpointUnverified
        }
        var pending = try AuditTrail.checkpoints(
            sql: "SELECT size, root, time, key_id, signature FROM audit_checkpoint ORDER BY size", in: db
        ).map { (checkpoint: $0, isExternal: false) }
        if let external {
            pending.append((external, true))
            pending.sort { $0.checkpoint.size < $1.checkpoint.size }
        }
        var pass = AuditVerificationPass(keys: keys, macKey: macKey, pending: pending)
        if let failure = pass.checkCheckpoints() { return failure }

        let statement = try db.makeStatement(sql: "SELECT \(AuditTrail.entryColumns), mac FROM audit_entry ORDER BY seq")
        let cursor = try Row.fetchCursor(statement)
        let pipeline = AuditVerifierPipeline(pass: pass, checksMAC: macKey != nil)
        if let failure = try pipeline.run(reading: cursor, statement.sqliteStatement) { return failure }
        pass = pipeline.pass

        if let failure = pass.checkRemainingCheckpoints() { return failure }
        if let checkpointInterval, let failure = pass.checkIntervalCheckpoints(every: checkpointInterval) { return failure }
        return try pass.checkState(db)
    }

    /// The same for a store other than SQLite: its checkpoints, its entries in sequence order
    /// (`nextRow` returns nil after the last), and its state row (nil when missing or malformed),
    /// all read from one snapshot.
    public func verify(
        checkpoints: [AuditCheckpoint], nextRow: () throws -> AuditStoredRow?, state: AuditTrailState?, against external: AuditCheckpoint? = nil
    ) throws -> AuditVerification {
        if let external, !keys.accept(external) {
            throw AuditError.externalCheckpointUnverified
        }
        var pending = checkpoints.sorted { $0.size < $1.size }.map { (checkpoint: $0, isExternal: false) }
        if let external {
            pending.append((external, true))
            pending.sort { $0.checkpoint.size < $1.checkpoint.size }
        }
        var pass = AuditVerificationPass(keys: keys, macKey: macKey, pending: pending)
        if let failure = pass.checkCheckpoints() { return failure }
        let pipeline = AuditVerifierPipeline(pass: pass, checksMAC: macKey != nil)
        if let failure = try pipeline.run(rows: nextRow) { return failure }
        pass = pipeline.pass
        if let failure = pass.checkRemainingCheckpoints() { return failure }
        if let checkpointInterval, let failure = pass.checkIntervalCheckpoints(every: checkpointInterval) { return failure }
        return pass.checkState(state?.state)
    }
}
