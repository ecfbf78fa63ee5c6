import Foundation
import PatronVaultAudit
import PatronVaultCrypto

/// What admins and privacy officers do to hold the vault to account: verify the audit trail,
/// sign checkpoints to keep outside, read the trail, and find whose data an account touched.
public struct Oversight: Sendable {
    let gate: Gate

    /// Recomputes the whole trail on a reader snapshot (lookups go on meanwhile): hashes, MAC
    /// chain, signed checkpoints, and an outside checkpoint if one is given (which catches a
    /// truncated tail). The decision to verify is itself recorded first, when the trail can
    /// still take an entry.
    public func verifyAudit(against checkpointText: String?, by principal: Principal) async throws(VaultError) -> AuditVerification {
        let external: AuditCheckpoint?
        do {
            external = try checkpointText.map { text throws(AuditError) in try AuditCheckpoint.parse(text: text) }
        } catch {
            throw VaultError.invalid("the checkpoint file is not a PatronVault audit checkpoint: \(error.description)")
        }
        try await gate.read(principal, [AccessRequest(.auditVerify, .audit)], recording: .bestEffort) { _ in }
        return try await gate.verifyTrail(against: external)
    }

    /// Signs a checkpoint of the trail as it is now; kept outside the vault, it lets a later
    /// `verifyAudit` detect a truncated or rewritten trail.
    public func auditCheckpoint(by principal: Principal) async throws(VaultError) -> AuditCheckpoint {
        try await gate.write(principal, [AccessRequest(.auditVerify, .audit)]) { tx in
            // The decision is appended first, so the signed head covers it.
            try tx.recordAll(required: true)
            return try tx.records.signAuditCheckpoint(tx.defaultTrail, at: tx.time)
        }
    }

    /// The Ed25519 key that signs checkpoints, for an outside party to pin.
    public func auditVerifyingKey(by principal: Principal) async throws(VaultError) -> VerifyingKey {
        let key = gate.trail.verifyingKey
        return try await gate.write(principal, [AccessRequest(.auditKey, .audit)]) { _ in key }
    }

    /// The trail for admins and privacy officers: pseudonyms and staff ids, never patrons.
    public func auditLog(_ filter: AuditLogFilter, by principal: Principal) async throws(VaultError) -> [AuditEntry] {
        try Self.checkRange(since: filter.since, until: filter.until)
        if let action = filter.action, AccessAction(rawValue: action) == nil {
            throw VaultError.invalid("the action filter is not an action the policies know")
        }
        return try await gate.write(principal, [AccessRequest(.auditRead, .audit)]) { tx in
            let principalID = try filter.staffName.map { name in try Self.staffID(named: name, in: tx.records) }
            return try tx.records.auditEntries(
                AuditQuery(since: filter.since, until: filter.until, principalID: principalID, action: filter.action, limit: filter.limit))
        }
    }

    /// The patrons whose data a staff account (or everything under a key version) touched in a
    /// window. Privacy officers get card barcodes to notify people; admins get pseudonyms.
    public func auditExposure(
        staffName: String?, keyVersion: Int?, since: Date?, until: Date?, by principal: Principal
    ) async throws(VaultError) -> [ExposedPatron] {
        try Self.checkRange(since: since, until: until)
        guard (staffName == nil) != (keyVersion == nil) else {
            throw VaultError.invalid("give exactly one of a staff account or a key version")
        }
        return try await gate.write(principal, [AccessRequest(.auditExposure, .audit)]) { tx in
            let pseudonyms: [String]
            if let staffName {
                pseudonyms = try tx.records.auditPatrons(touchedBy: Self.staffID(named: staffName, in: tx.records), since: since, until: until)
            } else {
                pseudonyms = try tx.records.auditPatrons(keyVersion: keyVersion ?? 0, since: since, until: until)
            }
            guard principal.role == .privacyOfficer else { return pseudonyms.map { ExposedPatron(pseudonym: $0, card: nil) } }
            // Resolving a pseudonym to a card is a disclosure about that patron: each one is
            // decided and recorded against the patron, and shows in their own access list.
            return try pseudonyms.map { hex in
                guard let bytes = Hex.decode(hex), let patron = try tx.records.patron(pseudonym: PatronPseudonym(bytes: bytes)) else {
                    return ExposedPatron(pseudonym: hex, card: nil)
                }
                try tx.authorize(AccessRequest(.auditExposure, .registration, patron: patron.pseudonym))
                return ExposedPatron(pseudonym: hex, card: try tx.registration(of: patron).cardBarcode)
            }
        }
    }

    private static func staffID(named name: String, in records: any RecordReader) throws -> String {
        let name = try FieldRules.accountName(name)
        guard let account = try records.staff(named: name) else {
            throw VaultError.notFound("no staff account is named \(name)")
        }
        return account.account.id
    }

    private static func checkRange(since: Date?, until: Date?) throws(VaultError) {
        if let since, let until, since >= until {
            throw VaultError.invalid("the start of the time window must be earlier than its end")
        }
    }
}
