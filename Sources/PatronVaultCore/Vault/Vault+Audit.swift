import Foundation
import GRDB
import PatronVaultAudit
import PatronVaultCrypto

/// One access to a patron's record as the patron sees it: who, when, why, and whether it was
/// allowed. The view no library system offers its patrons today.
public struct RecordAccess: Sendable, Equatable {
    public let time: Date
    public let staffName: String?
    public let staffID: String
    public let role: String
    public let action: String
    public let purpose: String?
    public let permitted: Bool
}

/// A patron whose data an account or key touched, for breach notification. The card is
/// resolved only for a privacy officer, and only while the patron still exists.
public struct ExposedPatron: Sendable, Equatable {
    public let pseudonym: String
    public let card: String?
}

/// Filters for reading the trail; times are half-open, `since` included and `until` excluded.
public struct AuditLogFilter: Sendable {
    public var since: Date?
    public var until: Date?
    public var staffName: String?
    public var action: String?
    public var limit: Int?

    public init(since: Date? = nil, until: Date? = nil, staffName: String? = nil, action: String? = nil, limit: Int? = nil) {
        self.since = since
        self.until = until
        self.staffName = staffName
        self.action = action
        self.limit = limit
    }
}

extension Vault {
    /// Recomputes the whole trail: hashes, MAC chain, signed checkpoints, and an outside
    /// checkpoint if one is given (which catches a truncated tail). The decision to verify is
    /// itself recorded first.
    public func verifyAudit(against checkpointText: String?, by principal: Principal) throws(VaultError) -> AuditVerification {
        let external: AuditCheckpoint?
        do {
            external = try checkpointText.map { text throws(AuditError) in try AuditCheckpoint.parse(text: text) }
        } catch {
            throw VaultError.invalid("the checkpoint file is not a PatronVault audit checkpoint: \(error.description)")
        }
        try gatedWrite { db in try authorize(principal, .auditVerify, .audit, recordingRequired: false, in: db) }
        let verifier = AuditVerifier(verifyingKey: audit.verifyingKey, macKey: keyRing.auditMACKey)
        do {
            return try VaultStorage.read(storage.records) { db in try verifier.verify(db, against: external) }
        } catch let error as AuditError {
            throw VaultError(.integrityFailure, "audit trail verification failed: \(error.description)")
        } catch {
            throw VaultStorage.translate(error)
        }
    }

    /// Signs a checkpoint of the trail as it is now; kept outside the vault, it lets a later
    /// `verifyAudit` detect a truncated or rewritten trail.
    public func auditCheckpoint(by principal: Principal) throws(VaultError) -> AuditCheckpoint {
        let time = now
        return try gatedWrite { db in
            try authorize(principal, .auditVerify, .audit, in: db)
            return try audit.checkpoint(at: time, in: db)
        }
    }

    /// The Ed25519 key that signs checkpoints, for an outside party to pin.
    public func auditVerifyingKey(by principal: Principal) throws(VaultError) -> VerifyingKey {
        try gatedWrite { db in
            try authorize(principal, .auditKey, .audit, in: db)
            return audit.verifyingKey
        }
    }

    /// The trail for admins and privacy officers: pseudonyms and staff ids, never patrons.
    public func auditLog(_ filter: AuditLogFilter, by principal: Principal) throws(VaultError) -> [AuditEntry] {
        try Self.checkRange(since: filter.since, until: filter.until)
        if let action = filter.action, AccessAction(rawValue: action) == nil {
            throw VaultError.invalid("--action is not an action the policies know")
        }
        return try gatedWrite { db in
            try authorize(principal, .auditRead, .audit, in: db)
            var principalID: String?
            if let name = filter.staffName { principalID = try staffID(named: name, in: db) }
            return try AuditQuery(since: filter.since, until: filter.until, principalID: principalID, action: filter.action, limit: filter.limit).entries(in: db)
        }
    }

    /// Who looked at my record, when and why, including refused attempts.
    public func myAccesses(by principal: Principal) throws(VaultError) -> [RecordAccess] {
        guard let pseudonym = principal.pseudonym else {
            throw VaultError(.permissionDenied, "access denied: only a patron signed in with card and PIN can see who looked at their record")
        }
        return try gatedWrite { db in
            try authorize(principal, .auditReadOwn, .audit, patron: pseudonym, in: db)
            let names = try Dictionary(
                Row.fetchAll(db, sql: "SELECT id, name FROM staff").map { ($0["id"] as String, $0["name"] as String) }, uniquingKeysWith: { a, _ in a })
            return try AuditQuery.concerning(patron: pseudonym.description).entries(in: db)
                .filter { $0.principalKind == Principal.Kind.staff.rawValue }
                .map {
                    RecordAccess(
                        time: $0.time, staffName: names[$0.principalID], staffID: $0.principalID, role: $0.principalRole,
                        action: $0.action, purpose: $0.purpose, permitted: $0.decision == .permit)
                }
        }
    }

    /// The patrons whose data a staff account (or everything under a key version) touched in a
    /// window. Privacy officers get card barcodes to notify people; admins get pseudonyms.
    public func auditExposure(
        staffName: String?, keyVersion: Int?, since: Date?, until: Date?, by principal: Principal
    ) throws(VaultError) -> [ExposedPatron] {
        try Self.checkRange(since: since, until: until)
        guard (staffName == nil) != (keyVersion == nil) else {
            throw VaultError.invalid("give exactly one of a staff account or a key version")
        }
        return try gatedWrite { db in
            try authorize(principal, .auditExposure, .audit, in: db)
            let pseudonyms: [String]
            if let staffName {
                pseudonyms = try AuditExposure.patrons(touchedBy: staffID(named: staffName, in: db), since: since, until: until, in: db)
            } else {
                pseudonyms = try AuditExposure.patrons(keyVersion: keyVersion ?? 0, since: since, until: until, in: db)
            }
            guard principal.role == .privacyOfficer else { return pseudonyms.map { ExposedPatron(pseudonym: $0, card: nil) } }
            // Resolving a pseudonym to a card is a disclosure about that patron: each one is
            // decided and recorded against the patron, and shows in their own access list.
            return try pseudonyms.map { hex in
                guard let bytes = Hex.decode(hex), let patron = try patronRow(pseudonym: PatronPseudonym(bytes: bytes), in: db) else {
                    return ExposedPatron(pseudonym: hex, card: nil)
                }
                try authorize(principal, .auditExposure, .registration, patron: patron.pseudonym, in: db)
                return ExposedPatron(pseudonym: hex, card: try registration(of: patron, in: db).cardBarcode)
            }
        }
    }

    private func staffID(named name: String, in db: Database) throws -> String {
        let name = try FieldRules.accountName(name)
        guard let id = try String.fetchOne(db, sql: "SELECT id FROM staff WHERE name = ?", arguments: [name]) else {
            throw VaultError.notFound("no staff account is named \(name)")
        }
        return id
    }

    private static func checkRange(since: Date?, until: Date?) throws(VaultError) {
        if let since, let until, since >= until {
            throw VaultError.invalid("--since must be earlier than --until")
        }
    }
}
