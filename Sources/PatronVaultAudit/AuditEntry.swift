import Foundation

/// One recorded operation as stored: a draft plus its place in the trail. `time` is the stored
/// time (microsecond precision, never earlier than the entry before it).
public struct AuditEntry: Sendable, Equatable {
    /// 1-based and contiguous; the first entry is 1.
    public let sequence: Int64
    public let time: Date
    public let principalKind: String
    public let principalID: String
    public let principalRole: String
    public let action: String
    public let resourceKind: String
    public let patron: String?
    public let purpose: String?
    public let decision: AuditDecision
    public let ruleIDs: [String]
    public let policyDigest: String
    public let frontEnd: String
    public let keyVersion: Int
    /// See `AuditDraft.detail`.
    public let detail: String?

    public init(
        sequence: Int64,
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
        self.sequence = sequence
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

/// The shape front ends show: the time as an ISO 8601 string, the decision's name, the rules
/// as a list, and `patron` (a pseudonym) and `purpose` only when the entry has them.
extension AuditEntry: Codable {
    private enum CodingKeys: String, CodingKey {
        case sequence, time, principalKind, principal, role, action, resource, patron, purpose, decision, rules
        case policyDigest, frontEnd, keyVersion, detail
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(time.formatted(.iso8601), forKey: .time)
        try container.encode(principalKind, forKey: .principalKind)
        try container.encode(principalID, forKey: .principal)
        try container.encode(principalRole, forKey: .role)
        try container.encode(action, forKey: .action)
        try container.encode(resourceKind, forKey: .resource)
        try container.encodeIfPresent(patron, forKey: .patron)
        try container.encodeIfPresent(purpose, forKey: .purpose)
        try container.encode(decision.rawValue, forKey: .decision)
        try container.encode(ruleIDs, forKey: .rules)
        try container.encode(policyDigest, forKey: .policyDigest)
        try container.encode(frontEnd, forKey: .frontEnd)
        try container.encode(keyVersion, forKey: .keyVersion)
        try container.encodeIfPresent(detail, forKey: .detail)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let timeText = try container.decode(String.self, forKey: .time)
        guard let time = try? Date(timeText, strategy: .iso8601) else {
            throw DecodingError.dataCorruptedError(forKey: .time, in: container, debugDescription: "not an ISO 8601 time")
        }
        guard let decision = AuditDecision(rawValue: try container.decode(String.self, forKey: .decision)) else {
            throw DecodingError.dataCorruptedError(forKey: .decision, in: container, debugDescription: "not a decision")
        }
        self.init(
            sequence: try container.decode(Int64.self, forKey: .sequence), time: time,
            principalKind: try container.decode(String.self, forKey: .principalKind), principalID: try container.decode(String.self, forKey: .principal),
            principalRole: try container.decode(String.self, forKey: .role), action: try container.decode(String.self, forKey: .action),
            resourceKind: try container.decode(String.self, forKey: .resource), patron: try container.decodeIfPresent(String.self, forKey: .patron),
            purpose: try container.decodeIfPresent(String.self, forKey: .purpose), decision: decision,
            ruleIDs: try container.decode([String].self, forKey: .rules), policyDigest: try container.decode(String.self, forKey: .policyDigest),
            frontEnd: try container.decode(String.self, forKey: .frontEnd), keyVersion: try container.decode(Int.self, forKey: .keyVersion),
            detail: try container.decodeIfPresent(String.self, forKey: .detail))
    }
}
