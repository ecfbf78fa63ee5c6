import Foundation

/// What the vault knows about one operation before the trail numbers, chains and stores it.
/// Patrons appear only as pseudonyms (lowercase hex): the trail must never become a second copy
/// of the patron records it is meant to watch over.
public struct AuditDraft: Sendable, Equatable {
    public var time: Date
    /// "staff" or "patron".
    public var principalKind: String
    /// A staff id, or a patron's pseudonym when a patron acts on their own record.
    public var principalID: String
    public var principalRole: String
    /// For example "patron.read".
    public var action: String
    public var resourceKind: String
    /// The pseudonym of the patron whose data the operation touched, if any.
    public var patron: String?
    /// The purpose the principal stated, if the policy asked for one.
    public var purpose: String?
    public var decision: AuditDecision
    /// The policy rules that decided; recorded so a decision can be explained later.
    public var ruleIDs: [String]
    /// Digest of the policy set in force, so the decision can be replayed against it.
    public var policyDigest: String
    /// "cli" or "daemon".
    public var frontEnd: String
    /// The key-encryption-key version in force, so a key compromise maps to the patrons exposed.
    public var keyVersion: Int
    /// What an operation over many records did, in counts and names of rules or fields, never
    /// values (for example a retention run's "kept-history: 120 records of 15 patrons"). Absent
    /// for most entries, which are encoded in format 1 as before; an entry with one is format 2.
    public var detail: String?

    public init(
        time: Date,
        principalKind: String,
        principalID: String,
        principalRole: String,
        action: String,
        resourceKind: String,
        patron: String?,
        purpose: String?,
        decision: AuditDecision,
        ruleIDs: [String],
        policyDigest: String,
        frontEnd: String,
        keyVersion: Int,
        detail: String? = nil
    ) {
        self.time = time
        self.principalKind = principalKind
        self.principalID = principalID
        self.principalRole = principalRole
        self.action = action
        self.resourceKind = resourceKind
        self.patron = patron
        self.purpose = purpose
        self.decision = decision
        self.ruleIDs = ruleIDs
        self.policyDigest = policyDigest
        self.frontEnd = frontEnd
        self.keyVersion = keyVersion
        self.detail = detail
    }
}

extension AuditDraft {
    /// Rejects drafts that would store something the trail cannot encode canonically, or that
    /// look like plaintext patron data where only a pseudonym belongs.
    func validate() throws(AuditError) {
        try Self.require("principal kind", principalKind)
        try Self.require("principal id", principalID)
        try Self.require("principal role", principalRole)
        try Self.require("action", action)
        try Self.require("resource kind", resourceKind)
        try Self.require("policy digest", policyDigest)
        try Self.require("front end", frontEnd)
        if let patron, !Self.isPseudonym(patron) {
            throw .notAPseudonym("patron")
        }
        if principalKind == "patron", !Self.isPseudonym(principalID) {
            throw .notAPseudonym("principal id of a patron")
        }
        for rule in ruleIDs where rule.isEmpty || rule.utf8.contains(AuditLeafEncoder.ruleSeparator) {
            throw .invalidRuleID
        }
        if let detail { try Self.require("detail", detail) }
    }

    /// Checked field by field rather than through a list, so validation allocates nothing.
    private static func require(_ name: String, _ value: String) throws(AuditError) {
        if value.isEmpty {
            throw .emptyField(name)
        }
    }

    static func isPseudonym(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
