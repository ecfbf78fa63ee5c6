import Foundation
import GRDB
import GRDBSQLite
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
    private let verifyingKey: VerifyingKey
    private let macKey: SymmetricKey?

    /// Pass the MAC key when verifying inside the vault; an outside party passes nil and checks
    /// only what the public key can prove.
    public init(verifyingKey: VerifyingKey, macKey: SymmetricKey?) {
        self.verifyingKey = verifyingKey
        self.macKey = macKey
    }

    /// Run inside a read (or write) transaction so the tables are one consistent snapshot.
    /// Throws if the external checkpoint is not signed by the verifying key, since it then proves
    /// nothing about the trail.
    public func verify(_ db: Database, against external: AuditCheckpoint? = nil) throws -> AuditVerification {
        if let external, !external.isValid(for: verifyingKey) {
            throw AuditError.externalCheckpointUnverified
        }
        var pass = Pass(verifyingKey: verifyingKey, macKey: macKey)
        var pending = try AuditTrail.checkpoints(
            sql: "SELECT size, root, time, key_id, signature FROM audit_checkpoint ORDER BY size", in: db
        ).map { (checkpoint: $0, isExternal: false) }
        if let external {
            pending.append((external, true))
            pending.sort { $0.checkpoint.size < $1.checkpoint.size }
        }
        var nextPending = 0

        if let failure = pass.checkCheckpoints(pending, from: &nextPending) { return failure }

        let statement = try db.makeStatement(sql: "SELECT \(AuditTrail.entryColumns), mac FROM audit_entry ORDER BY seq")
        let cursor = try Row.fetchCursor(statement)
        let raw = statement.sqliteStatement
        while try cursor.next() != nil {
            if let failure = pass.check(raw) { return failure }
            if let failure = pass.checkCheckpoints(pending, from: &nextPending) { return failure }
        }

        if nextPending < pending.count {
            let (checkpoint, isExternal) = pending[nextPending]
            if !isExternal, !checkpoint.isValid(for: verifyingKey) {
                return pass.broken(at: checkpoint.size, "The checkpoint at size \(checkpoint.size) carries a signature that does not verify with the audit key.")
            }
            let source = isExternal ? "the external checkpoint" : "a signed checkpoint"
            return pass.broken(
                at: pass.size + 1,
                "The trail holds \(pass.size) entries but \(source) covers \(checkpoint.size); entries from \(pass.size + 1) on were removed.")
        }
        return try pass.checkState(db)
    }
}

extension AuditVerifier {
    /// The running state of one verification: the recomputed tree, chain and last time.
    private struct Pass {
        let verifyingKey: VerifyingKey
        var chain: AuditChain?
        var encoder = AuditLeafEncoder()
        var frontier = MerkleFrontier()
        var previousMAC = AuditChain.genesis
        var previousTime = Int64.min
        var lastVerifiedCheckpoint: Int64 = 0
        var checkpointsVerified = 0

        init(verifyingKey: VerifyingKey, macKey: SymmetricKey?) {
            self.verifyingKey = verifyingKey
            chain = macKey.map(AuditChain.init(key:))
        }

        var size: Int64 { frontier.size }

        func broken(at sequence: Int64?, _ problem: String) -> AuditVerification {
            .broken(
                at: sequence, problem, entryCount: frontier.size, checkpointsVerified: checkpointsVerified,
                macChainChecked: chain != nil)
        }

        /// Checks the entry the statement is positioned on and adds it to the tree.
        mutating func check(_ raw: SQLiteStatement) -> AuditVerification? {
            let expected = frontier.size + 1
            guard sqlite3_column_type(raw, 0) == SQLITE_INTEGER else {
                return broken(at: expected, "Entry \(expected) has a sequence number that is not an integer.")
            }
            let sequence = sqlite3_column_int64(raw, 0)
            guard sequence == expected else {
                if sequence > expected {
                    return broken(at: expected, "Entry \(expected) is missing; the next entry is \(sequence).")
                }
                return broken(at: sequence, "Entry \(sequence) appears where entry \(expected) should be.")
            }
            guard sqlite3_column_type(raw, 1) == SQLITE_INTEGER, sqlite3_column_type(raw, 13) == SQLITE_INTEGER else {
                return broken(at: sequence, "Entry \(sequence) has a time or key version that is not an integer.")
            }
            let time = sqlite3_column_int64(raw, 1)
            guard time >= previousTime else {
                return broken(at: sequence, "Entry \(sequence) is dated earlier than the entry before it.")
            }

            encoder.begin(sequence: sequence, time: time)
            for column: Int32 in 2...12 {
                let isOptional = column == 7 || column == 8
                let type = sqlite3_column_type(raw, column)
                if isOptional, type == SQLITE_NULL {
                    encoder.appendOptionalText(nil as UnsafeRawBufferPointer?)
                    continue
                }
                guard type == SQLITE_TEXT else {
                    return broken(at: sequence, "Entry \(sequence) has a field stored with the wrong type.")
                }
                let text = Self.bytes(raw, column)
                if column == 9, !Self.isDecision(text) {
                    return broken(at: sequence, "Entry \(sequence) has a decision other than permit or forbid.")
                }
                if column == 10, !Self.isCanonicalRuleList(text) {
                    return broken(at: sequence, "Entry \(sequence) has a rule list that is not in canonical form.")
                }
                if isOptional {
                    encoder.appendOptionalText(text)
                } else {
                    encoder.appendText(text)
                }
            }
            encoder.append(sqlite3_column_int64(raw, 13))
            let leaf = encoder.leafHash()

            if chain != nil {
                guard sqlite3_column_type(raw, 14) == SQLITE_BLOB else {
                    return broken(at: sequence, "Entry \(sequence) has no MAC.")
                }
                let mac = chain!.mac(sequence: sequence, leaf: leaf, previous: previousMAC)
                guard AuditChain.matches(mac, Self.bytes(raw, 14)) else {
                    return broken(at: sequence, "Entry \(sequence) does not match its MAC: it was altered, inserted, moved or forged, or an entry before it was removed.")
                }
                previousMAC = mac
            }
            frontier.append(leaf: leaf)
            previousTime = time
            return nil
        }

        /// Checks every pending checkpoint whose size the tree has just reached.
        mutating func checkCheckpoints(
            _ pending: [(checkpoint: AuditCheckpoint, isExternal: Bool)], from next: inout Int
        ) -> AuditVerification? {
            while next < pending.count, pending[next].checkpoint.size <= frontier.size {
                let (checkpoint, isExternal) = pending[next]
                next += 1
                guard checkpoint.size == frontier.size else {
                    return broken(at: nil, "A stored checkpoint has a negative size.")
                }
                if !isExternal, !checkpoint.isValid(for: verifyingKey) {
                    return broken(at: checkpoint.size, "The checkpoint at size \(checkpoint.size) carries a signature that does not verify with the audit key.")
                }
                guard checkpoint.rootHash == frontier.root() else {
                    let source = isExternal ? "the external checkpoint" : "the signed checkpoint"
                    return broken(
                        at: lastVerifiedCheckpoint + 1,
                        "The first \(checkpoint.size) entries do not hash to the root of \(source) at size \(checkpoint.size): an entry from \(lastVerifiedCheckpoint + 1) to \(checkpoint.size) was altered, removed, inserted or reordered.")
                }
                if !isExternal, checkpoint.microseconds < previousTime {
                    return broken(at: checkpoint.size, "The checkpoint at size \(checkpoint.size) is dated earlier than the entry it covers.")
                }
                lastVerifiedCheckpoint = checkpoint.size
                checkpointsVerified += 1
            }
            return nil
        }

        /// The state row must describe exactly the trail just recomputed.
        func checkState(_ db: Database) throws -> AuditVerification {
            let state: AuditState
            do {
                state = try AuditState.read(db)
            } catch is AuditError {
                return broken(at: nil, "The trail's state row is missing or malformed.")
            }
            var stored = state.frontier
            var computed = frontier
            if stored.size != computed.size {
                let first = min(stored.size, computed.size) + 1
                return broken(at: first, "The trail's state records \(stored.size) entries but \(computed.size) are present.")
            }
            if stored.root() != computed.root() {
                let first = chain == nil ? min(lastVerifiedCheckpoint + 1, computed.size) : computed.size
                return broken(at: first, "The trail's state does not match the entries after entry \(lastVerifiedCheckpoint).")
            }
            if chain != nil, state.lastMAC != previousMAC {
                return broken(at: computed.size, "The trail's state does not end with the MAC of entry \(computed.size).")
            }
            if computed.size > 0, state.lastTime != previousTime {
                return broken(at: computed.size, "The trail's state does not end with the time of entry \(computed.size).")
            }
            return .intact(entryCount: computed.size, checkpointsVerified: checkpointsVerified, macChainChecked: chain != nil)
        }

        static func bytes(_ raw: SQLiteStatement, _ column: Int32) -> UnsafeRawBufferPointer {
            let base = sqlite3_column_blob(raw, column)
            let count = Int(sqlite3_column_bytes(raw, column))
            return UnsafeRawBufferPointer(start: base, count: count)
        }

        static func isDecision(_ text: UnsafeRawBufferPointer) -> Bool {
            text.elementsEqual(AuditDecision.permit.rawValue.utf8) || text.elementsEqual(AuditDecision.forbid.rawValue.utf8)
        }

        /// Comma-joined non-empty ids: no leading, trailing or doubled comma.
        static func isCanonicalRuleList(_ text: UnsafeRawBufferPointer) -> Bool {
            guard let first = text.first, let last = text.last else { return true }
            guard first != AuditLeafEncoder.ruleSeparator, last != AuditLeafEncoder.ruleSeparator else { return false }
            var previous: UInt8 = 0
            for byte in text {
                if byte == AuditLeafEncoder.ruleSeparator, previous == byte { return false }
                previous = byte
            }
            return true
        }
    }
}
