import Foundation

/// Everything the vault holds keyed to one patron, opened: the content of an export bundle's
/// `patron-data.json`, whose shape `patron-data.schema.json` (beside this file) documents. The
/// record-set part lets anyone holding the bundle check, with the vault's public export key
/// only, that no record of the patron was left out.
public struct PatronDataExport: Sendable, Encodable {
    public static let format = "patronvault.patron-data.v1"

    public let format: String
    public let exportedAt: Date
    /// The random identifier the vault and its audit trail know the patron by.
    public let pseudonym: String
    public let registration: ExportedRecord<PatronRegistration>
    public let openLoans: [ExportedRecord<Loan>]
    /// Returned loans kept because the patron chose to keep their history.
    public let history: [ExportedRecord<Loan>]
    /// Failed sign-ins counted toward a lockout, if any are recorded now.
    public let signInLockout: SignInLockout?
    /// Every audit entry about the patron or made by them.
    public let auditEntries: [ExportedAuditEntry]
    /// Records already deleted whose keys are queued for destruction.
    public let pendingDestruction: [RecordReference]
    /// Legal orders that touched the patron (none can exist until that workflow does).
    public let legalOrders: [String]
    public let recordSet: ExportedRecordSet

    private enum CodingKeys: String, CodingKey {
        case format, exportedAt, pseudonym, registration, openLoans, history, signInLockout, auditEntries, pendingDestruction, legalOrders, recordSet
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(exportedAt.formatted(.iso8601), forKey: .exportedAt)
        try container.encode(pseudonym, forKey: .pseudonym)
        try container.encode(registration, forKey: .registration)
        try container.encode(openLoans, forKey: .openLoans)
        try container.encode(history, forKey: .history)
        try container.encodeIfPresent(signInLockout, forKey: .signInLockout)
        try container.encode(auditEntries, forKey: .auditEntries)
        try container.encode(pendingDestruction, forKey: .pendingDestruction)
        try container.encode(legalOrders, forKey: .legalOrders)
        try container.encode(recordSet, forKey: .recordSet)
    }
}

/// Which record version an exported value was opened from.
public struct RecordReference: Sendable, Hashable, Codable {
    public let id: String
    public let version: Int64
}

/// An opened record beside the reference that ties it to the record set.
public struct ExportedRecord<Value: Sendable & Encodable>: Sendable, Encodable {
    public let record: RecordReference
    public let data: Value
}

public struct SignInLockout: Sendable, Encodable {
    public let failedAttempts: Int
    public let lockedUntil: Date?

    private enum CodingKeys: String, CodingKey { case failedAttempts, lockedUntil }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(failedAttempts, forKey: .failedAttempts)
        try container.encodeIfPresent(lockedUntil?.formatted(.iso8601), forKey: .lockedUntil)
    }
}

/// An audit entry as the patron reads it: the staff member named when the account is known.
public struct ExportedAuditEntry: Sendable, Encodable {
    public let sequence: Int64
    public let time: Date
    public let principalKind: String
    public let principalRole: String
    /// A staff id, or the patron's own pseudonym for what they did themselves.
    public let principalID: String
    public let staffName: String?
    public let action: String
    public let resource: String
    public let purpose: String?
    public let decision: String
    public let rules: [String]
    public let policyDigest: String
    public let frontEnd: String

    private enum CodingKeys: String, CodingKey {
        case sequence, time, principalKind, principalRole, principalID, staffName, action, resource, purpose, decision, rules, policyDigest, frontEnd
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(time.formatted(.iso8601), forKey: .time)
        try container.encode(principalKind, forKey: .principalKind)
        try container.encode(principalRole, forKey: .principalRole)
        try container.encode(principalID, forKey: .principalID)
        try container.encodeIfPresent(staffName, forKey: .staffName)
        try container.encode(action, forKey: .action)
        try container.encode(resource, forKey: .resource)
        try container.encodeIfPresent(purpose, forKey: .purpose)
        try container.encode(decision, forKey: .decision)
        try container.encode(rules, forKey: .rules)
        try container.encode(policyDigest, forKey: .policyDigest)
        try container.encode(frontEnd, forKey: .frontEnd)
    }
}

/// The patron's authenticated record set: one member per record key the vault holds for them,
/// with its element (a keyed hash of the record's identity, version, kind and state). The
/// members in the set sum, modulo 2^256, to `value`; the manifest signs `value` and `count`.
public struct ExportedRecordSet: Sendable, Codable {
    public struct Member: Sendable, Codable, Hashable {
        public let id: String
        public let version: Int64
        /// `registration` or `loan`; absent for a record already deleted whose key is queued
        /// for destruction (listed in `pendingDestruction`).
        public let kind: String?
        /// `open` or `closed`; absent when `kind` is.
        public let state: String?
        public let element: String
        /// False for a change not yet settled into the set (it joins a moment after its commit).
        public let inSet: Bool
    }

    public let value: String
    public let count: Int
    public let members: [Member]
}
