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
        INSERT INTO audit_entry (\(entryColumns), mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        try append([draft], in: db)[0]
    }

    /// Records several entries in order (an operation's decisions, an import's patrons), reading
    /// the chain state once and writing it once.
    @discardableResult
    public func append(_ drafts: [AuditDraft], in db: Database) throws -> [AuditEntry] {
        guard db.isInsideTransaction else { throw AuditError.outsideTransaction }
        guard !drafts.isEmpty else { return [] }
        for draft in drafts { try draft.validate() }
        var state = try AuditState.read(db)
        let chain = AuditChain(key: macKey)
        let insert = try db.cachedStatement(sql: Self.insertEntrySQL)
        var entries: [AuditEntry] = []
        entries.reserveCapacity(drafts.count)
        for draft in drafts {
            let sequence = state.frontier.size + 1
            let time = max(try draft.time.auditMicroseconds(), state.lastTime)
            var encoder = AuditLeafEncoder()
            encoder.encode(draft, sequence: sequence, time: time)
            try encoder.withBytes { encoding in
                try state.lastMAC.withUnsafeMutableBytes { mac in
                    try withUnsafeTemporaryAllocation(byteCount: MerkleFrontier.hashByteCount, alignment: 8) { leaf in
                        AuditLeafEncoder.hashLeaf(encoding, into: leaf.baseAddress!)
                        chain.mac(sequence: sequence, leaf: leaf.baseAddress!, previous: mac.baseAddress!, into: mac.baseAddress!)
                        try Self.insert(
                            encoding, sequence: sequence, time: time, keyVersion: Int64(draft.keyVersion), detail: draft.detail,
                            mac: UnsafeRawBufferPointer(mac), with: insert)
                        state.frontier.append(leaf: leaf.baseAddress!)
                    }
                }
            }
            state.lastTime = time
            if sequence % Int64(checkpointInterval) == 0 {
                try storeCheckpoint(frontier: state.frontier, time: time, in: db)
            }
            entries.append(AuditEntry(
                sequence: sequence, time: Date(auditMicroseconds: time), principalKind: draft.principalKind,
                principalID: draft.principalID, principalRole: draft.principalRole, action: draft.action,
                resourceKind: draft.resourceKind, patron: draft.patron, purpose: draft.purpose, decision: draft.decision,
                ruleIDs: draft.ruleIDs, policyDigest: draft.policyDigest, frontEnd: draft.frontEnd, keyVersion: draft.keyVersion,
                detail: draft.detail))
        }
        try state.write(db)
        return entries
    }

    /// Stores the row, binding each text column to its bytes inside the canonical encoding, so
    /// the stored text is byte for byte what was hashed and nothing is copied to bind it.
    private static func insert(
        _ encoding: UnsafeRawBufferPointer, sequence: Int64, time: Int64, keyVersion: Int64, detail: String?, mac: UnsafeRawBufferPointer,
        with statement: Statement
    ) throws {
        do {
            try statement.executeBinding { raw in
                try Statement.bind(raw, 1, int64: sequence)
                try Statement.bind(raw, 2, int64: time)
                try AuditLeafEncoder.forEachText(in: encoding) { field, text in
                    let index = Int32(3 + field)
                    if let text {
                        try Statement.bind(raw, index, text: text)
                    } else {
                        try Statement.bindNull(raw, index)
                    }
                }
                try Statement.bind(raw, 14, int64: keyVersion)
                if let detail = AuditLeafEncoder.detail(in: encoding) {
                    try Statement.bind(raw, 15, text: detail)
                } else {
                    try Statement.bindNull(raw, 15)
                }
                try Statement.bind(raw, 16, blob: mac)
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw AuditError.stateOutOfStep(sequence)
        }
    }
}
