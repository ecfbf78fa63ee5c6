import Foundation

/// Everything the vault holds keyed to one patron, opened: the content of an export bundle's
/// `patron-data.json` (written by `jsonBytes(history:members:)`), whose shape `patron-data.schema.json` (beside this
/// file) documents. The
/// record-set part lets anyone holding the bundle check, with the vault's public export key
/// only, that no record of the patron was left out.
public struct PatronDataExport: Sendable {
    public static let format = "patronvault.patron-data.v1"

    public let format: String
    public let exportedAt: Date
    /// The random identifier the vault and its audit trail know the patron by.
    public let pseudonym: String
    public let registration: ExportedRecord<PatronRegistration>
    public let openLoans: [ExportedRecord<Loan>]
    /// Returned loans kept because the patron chose to keep their history.
    public let history: [ExportedRecord<Loan>]
    /// Returned loans kept because a fee was owed on them: while it is owed, and (for a patron
    /// who discards history) until the retention schedule destroys them after it is settled.
    public let heldLoans: [ExportedRecord<Loan>]
    /// Failed sign-ins counted toward a lockout, if any are recorded now.
    public let signInLockout: SignInLockout?
    /// Every audit entry about the patron or made by them.
    public let auditEntries: [ExportedAuditEntry]
    /// Records already deleted whose keys are queued for destruction.
    public let pendingDestruction: [RecordReference]
    /// Legal orders that touched the patron (none can exist until that workflow does).
    public let legalOrders: [String]
    public let recordSet: ExportedRecordSet
}

/// Which record version an exported value was opened from.
public struct RecordReference: Sendable, Hashable, Codable {
    public let id: String
    public let version: Int64
}

/// An opened record beside the reference that ties it to the record set.
public struct ExportedRecord<Value: Sendable>: Sendable {
    public let record: RecordReference
    public let data: Value
}

public struct SignInLockout: Sendable {
    public let failedAttempts: Int
    public let lockedUntil: Date?
}

/// An audit entry as the patron reads it: the staff member named when the account is known.
public struct ExportedAuditEntry: Sendable {
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
    /// Counts or the names of what an operation touched (never values), when it recorded them.
    public let detail: String?
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
        /// `open`, `held` or `closed`; absent when `kind` is.
        public let state: String?
        public let element: String
        /// False for a change not yet settled into the set (it joins a moment after its commit).
        public let inSet: Bool
    }

    public let value: String
    public let count: Int
    public let members: [Member]
}
