import Foundation
import GRDB
import PatronVaultCrypto

/// Appends to the tamper-evident audit trail inside the caller's write transaction: if the append
/// fails, the operation it records fails with it (as HashiCorp Vault refuses a request no audit
/// device can record).
///
/// Each entry is hashed into an RFC 6962 Merkle tree (frontier kept in `audit_state`), chained by
/// a keyed MAC only the vault can extend, and every `checkpointInterval` entries the tree head is
/// signed with Ed25519. No signature is made per entry.
public struct AuditTrail: Sendable {
    let signingKey: SigningKey
    let macKey: SymmetricKey
    public let checkpointInterval: Int

    static let insertEntrySQL = """
        INSERT INTO audit_entry (\(entryColumns), mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    public init(signingKey: SigningKey, macKey: SymmetricKey, checkpointInterval: Int = 1000) {
        precondition(checkpointInterval > 0, "the checkpoint interval must be positive")
        self.signingKey = signingKey
        self.macKey = macKey
        self.checkpointInterval = checkpointInterval
    }

    /// The key outside verifiers pin to check checkpoints.
    public var verifyingKey: VerifyingKey { signingKey.publicKey }

    /// Records one operation. Must run inside a write transaction (GRDB's `write` opens an
    /// IMMEDIATE one), so that the state it reads is the state it extends.
    ///
    /// The stored time is never earlier than the previous entry's: two processes whose clocks or
    /// scheduling disagree still produce a trail whose times never go backwards.
    @discardableResult
    public func append(_ draft: AuditDraft, in db: Database) throws -> AuditEntry {
        guard db.isInsideTransaction else { throw AuditError.outsideTransaction }
        try draft.validate()
        var state = try AuditState.read(db)
        let sequence = state.frontier.size + 1
        let time = max(try draft.time.auditMicroseconds(), state.lastTime)
        let ruleIDs = draft.ruleIDs.joined(separator: ",")

        var encoder = AuditLeafEncoder()
        encoder.encode(draft, sequence: sequence, time: time, ruleIDs: ruleIDs)
        let leaf = encoder.leafHash()
        var chain = AuditChain(key: macKey)
        let mac = chain.mac(sequence: sequence, leaf: leaf, previous: state.lastMAC)

        let insert = try db.cachedStatement(sql: Self.insertEntrySQL)
        let values: [DatabaseValue] = [
            sequence.databaseValue, time.databaseValue, draft.principalKind.databaseValue,
            draft.principalID.databaseValue, draft.principalRole.databaseValue, draft.action.databaseValue,
            draft.resourceKind.databaseValue, draft.patron.databaseValue, draft.purpose.databaseValue,
            draft.decision.rawValue.databaseValue, ruleIDs.databaseValue, draft.policyDigest.databaseValue,
            draft.frontEnd.databaseValue, Int64(draft.keyVersion).databaseValue, Data(mac).databaseValue,
        ]
        do {
            try insert.execute(arguments: StatementArguments(values))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw AuditError.stateOutOfStep(sequence)
        }

        state.frontier.append(leaf: leaf)
        state.lastMAC = mac
        state.lastTime = time
        try state.write(db)

        if sequence % Int64(checkpointInterval) == 0 {
            try storeCheckpoint(frontier: &state.frontier, time: time, in: db)
        }
        return AuditEntry(
            sequence: sequence, time: Date(auditMicroseconds: time), principalKind: draft.principalKind,
            principalID: draft.principalID, principalRole: draft.principalRole, action: draft.action,
            resourceKind: draft.resourceKind, patron: draft.patron, purpose: draft.purpose, decision: draft.decision,
            ruleIDs: draft.ruleIDs, policyDigest: draft.policyDigest, frontEnd: draft.frontEnd, keyVersion: draft.keyVersion)
    }
}
