import Foundation

/// One access to a patron's record as the patron sees it: who, when, why, and whether it was
/// allowed, and every failed attempt to sign in with their card. The view no library system
/// offers its patrons today.
public struct RecordAccess: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// A staff member's request about the patron, allowed or refused.
        case staff
        /// A sign-in with the patron's card that failed (wrong PIN, or the card was locked).
        case failedSignIn = "failed-sign-in"
    }

    public let kind: Kind
    public let time: Date
    public let staffName: String?
    public let staffID: String
    public let role: String
    public let action: String
    public let purpose: String?
    public let permitted: Bool
    /// The legal order a privacy officer acted under, once its notice is due.
    public let legalOrder: String?
    /// For a staff view: the names of the fields it showed (never their values), as the audit
    /// entry recorded them; nil for an access that was not a view.
    public let revealed: [String]?

    init(
        kind: Kind, time: Date, staffName: String?, staffID: String, role: String, action: String, purpose: String?, permitted: Bool,
        legalOrder: String? = nil, revealed: [String]? = nil
    ) {
        self.kind = kind
        self.time = time
        self.staffName = staffName
        self.staffID = staffID
        self.role = role
        self.action = action
        self.purpose = purpose
        self.permitted = permitted
        self.legalOrder = legalOrder
        self.revealed = revealed
    }

    /// The revealed fields as a patron reads them ("name", "open loans"), without repeats.
    public var revealedPhrases: [String]? {
        revealed.map { names in
            var phrases: [String] = []
            for name in names {
                let phrase = ViewField(schemaName: name)?.phrase ?? name
                if !phrases.contains(phrase) { phrases.append(phrase) }
            }
            return phrases
        }
    }
}

/// The shape front ends show a patron: the time as an ISO 8601 string, `staff` only while the
/// account's name is known, `purpose` only when one was stated.
extension RecordAccess: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, time, staff, staffID, role, action, purpose, permitted, legalOrder, revealed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(time.iso8601Text, forKey: .time)
        try container.encodeIfPresent(staffName, forKey: .staff)
        try container.encode(staffID, forKey: .staffID)
        try container.encode(role, forKey: .role)
        try container.encode(action, forKey: .action)
        try container.encodeIfPresent(purpose, forKey: .purpose)
        try container.encode(permitted, forKey: .permitted)
        try container.encodeIfPresent(legalOrder, forKey: .legalOrder)
        try container.encodeIfPresent(revealed, forKey: .revealed)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        time = try container.instant(.time)
        staffName = try container.decodeIfPresent(String.self, forKey: .staff)
        staffID = try container.decode(String.self, forKey: .staffID)
        role = try container.decode(String.self, forKey: .role)
        action = try container.decode(String.self, forKey: .action)
        purpose = try container.decodeIfPresent(String.self, forKey: .purpose)
        permitted = try container.decode(Bool.self, forKey: .permitted)
        legalOrder = try container.decodeIfPresent(String.self, forKey: .legalOrder)
        revealed = try container.decodeIfPresent([String].self, forKey: .revealed)
    }
}
