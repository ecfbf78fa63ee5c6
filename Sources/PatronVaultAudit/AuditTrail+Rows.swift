import Foundation
import PatronVaultCrypto

/// An audit entry column by column, as a store other than the embedded SQLite one writes it and
/// reads it back. The text columns hold exactly the bytes the entry's leaf hash was computed over.
public struct AuditStoredRow: Sendable, Equatable {
    public static let textColumnCount = 11

    public var sequence: Int64
    /// Microseconds since 1970.
    public var time: Int64
    /// Principal kind, principal id, principal role, action, resource kind, patron, purpose,
    /// decision, rule ids (comma-joined), policy digest, front end; only patron and purpose may be nil.
    public var texts: [String?]
    public var keyVersion: Int64
    public var detail: String?
    /// The chain MAC; nil only when a reader did not ask for it.
    public var mac: [UInt8]?

    public init(sequence: Int64, time: Int64, texts: [String?], keyVersion: Int64, detail: String?, mac: [UInt8]?) {
        self.sequence = sequence
        self.time = time
        self.texts = texts
        self.keyVersion = keyVersion
        self.detail = detail
        self.mac = mac
    }

    /// The entry as stored; the verifier says whether it can be trusted.
    public var entry: AuditEntry {
        let text = { (index: Int) in index < texts.count ? texts[index] ?? "" : "" }
        let ruleIDs = text(8)
        return AuditEntry(
            sequence: sequence, time: Date(auditMicroseconds: time), principalKind: text(0), principalID: text(1), principalRole: text(2),
            action: text(3), resourceKind: text(4), patron: texts.count > 5 ? texts[5] : nil, purpose: texts.count > 6 ? texts[6] : nil,
            decision: AuditDecision(rawValue: text(7)) ?? .forbid,
            ruleIDs: ruleIDs.isEmpty ? [] : ruleIDs.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
            policyDigest: text(9), frontEnd: text(10), keyVersion: Int(truncatingIfNeeded: keyVersion), detail: detail)
    }
}

/// Where the next append continues (tree frontier, MAC chain head, last time): the one state row
/// a store keeps beside the entries and locks for each append, so appends from several writers,
/// in several processes or on several hosts, extend one chain.
public struct AuditTrailState: Sendable, Equatable {
    var state: AuditState

    init(_ state: AuditState) {
        self.state = state
    }

    /// The state of a trail with no entries.
    public static var empty: AuditTrailState {
        AuditTrailState(AuditState(frontier: MerkleFrontier(), lastMAC: AuditChain.genesis, lastTime: Int64.min))
    }

    /// A stored state; refused when the frontier's hash count does not fit its size or the MAC
    /// is not 32 bytes.
    public init(size: Int64, frontier: [UInt8], lastMAC: [UInt8], lastTime: Int64) throws(AuditError) {
        guard lastMAC.count == AuditChain.macByteCount else { throw AuditError.stateMalformed }
        state = AuditState(frontier: try MerkleFrontier(size: size, hashes: frontier), lastMAC: lastMAC, lastTime: lastTime)
    }

    public var size: Int64 { state.frontier.size }
    public var frontier: [UInt8] { state.frontier.hashes }
    public var lastMAC: [UInt8] { state.lastMAC }
    public var lastTime: Int64 { state.lastTime }

    public static func == (lhs: AuditTrailState, rhs: AuditTrailState) -> Bool {
        lhs.state.frontier == rhs.state.frontier && lhs.state.lastMAC == rhs.state.lastMAC && lhs.state.lastTime == rhs.state.lastTime
    }
}

/// What one append produced, for the store to write in the caller's transaction.
public struct AuditExtension: Sendable {
    public let rows: [AuditStoredRow]
    public let entries: [AuditEntry]
    /// Checkpoints due at the interval; a store keeps one per size and refuses a second with
    /// another root (`AuditError.checkpointConflict`).
    public let checkpoints: [AuditCheckpoint]
}

extension AuditTrail {
    /// Extends the trail in memory from `state`, which the store has read under its lock; the
    /// store then writes the rows, the checkpoints and the new state in the same transaction.
    /// The chain is the one `append(_:in:)` builds on SQLite, byte for byte.
    public func extend(_ drafts: [AuditDraft], state: inout AuditTrailState) throws -> AuditExtension {
        for draft in drafts { try draft.validate() }
        let chain = AuditChain(key: macKey)
        var rows: [AuditStoredRow] = []
        var entries: [AuditEntry] = []
        var checkpoints: [AuditCheckpoint] = []
        for draft in drafts {
            let sequence = state.state.frontier.size + 1
            let time = max(try draft.time.auditMicroseconds(), state.state.lastTime)
            var encoder = AuditLeafEncoder()
            encoder.encode(draft, sequence: sequence, time: time)
            var texts: [String?] = []
            var current = state.state
            encoder.withBytes { encoding in
                AuditLeafEncoder.forEachText(in: encoding) { _, text in texts.append(text.map { String(decoding: $0, as: UTF8.self) }) }
                current.lastMAC.withUnsafeMutableBytes { mac in
                    withUnsafeTemporaryAllocation(byteCount: MerkleFrontier.hashByteCount, alignment: 8) { leaf in
                        AuditLeafEncoder.hashLeaf(encoding, into: leaf.baseAddress!)
                        chain.mac(sequence: sequence, leaf: leaf.baseAddress!, previous: mac.baseAddress!, into: mac.baseAddress!)
                        current.frontier.append(leaf: leaf.baseAddress!)
                    }
                }
            }
            state.state = current
            state.state.lastTime = time
            let row = AuditStoredRow(
                sequence: sequence, time: time, texts: texts, keyVersion: Int64(draft.keyVersion), detail: draft.detail, mac: state.state.lastMAC)
            rows.append(row)
            entries.append(row.entry)
            if sequence % Int64(checkpointInterval) == 0 {
                let frontier = state.state.frontier
                checkpoints.append(AuditCheckpoint(size: frontier.size, rootHash: frontier.root(), microseconds: time, signingKey: signingKey))
            }
        }
        return AuditExtension(rows: rows, entries: entries, checkpoints: checkpoints)
    }

    /// A signed checkpoint of `state` at `time` (never earlier than the last entry's), for a
    /// store to keep unless one already covers that size.
    public func checkpoint(of state: AuditTrailState, at time: Date) throws -> AuditCheckpoint {
        let frontier = state.state.frontier
        return AuditCheckpoint(
            size: frontier.size, rootHash: frontier.root(), microseconds: max(try time.auditMicroseconds(), state.state.lastTime), signingKey: signingKey)
    }
}

extension AuditCheckpoint {
    /// A checkpoint as a store keeps it, column by column.
    public init(storedSize size: Int64, rootHash: [UInt8], microseconds: Int64, keyID: [UInt8], signature: [UInt8]) {
        self.init(size: size, rootHash: rootHash, microseconds: microseconds, keyID: keyID, signature: signature)
    }

    /// The signed time in microseconds since 1970, as stored.
    public var storedMicroseconds: Int64 { microseconds }
}

extension Date {
    /// The trail's integer microseconds, for a store's own queries on time.
    public func auditTime() throws(AuditError) -> Int64 {
        try auditMicroseconds()
    }
}
