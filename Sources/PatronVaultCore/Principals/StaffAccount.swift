import Foundation

/// A staff account as listed to admins; tokens are never listed, only whether the account is live.
public struct StaffAccount: Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: StaffRole
    public let createdAt: Date
    public let revokedAt: Date?
    /// The token works only through the daemon: a process that opens the vault folder itself
    /// (the CLI's direct mode) refuses it, so a desk token copied to a machine with the key file
    /// still cannot bypass the daemon. Sealed with the rest of the account.
    public var remoteOnly = false

    package init(id: String, name: String, role: StaffRole, createdAt: Date, revokedAt: Date?, remoteOnly: Bool = false) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.remoteOnly = remoteOnly
    }

    public var isActive: Bool { revokedAt == nil }
}

/// A bearer token shown exactly once at creation; the vault keeps only its hash.
public struct IssuedToken: Sendable {
    public let account: StaffAccount
    public let token: String
}

/// The shape admins are shown: the role's name, instants as ISO 8601 strings, `revoked` only
/// once the account is revoked. Never a token: accounts do not hold one. Decoded too, as the CLI
/// reads the daemon's answers.
extension StaffAccount: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, name, role, created, active, revoked, remoteOnly
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(role.rawValue, forKey: .role)
        try container.encode(createdAt.iso8601Text, forKey: .created)
        try container.encode(isActive, forKey: .active)
        try container.encodeIfPresent(revokedAt?.iso8601Text, forKey: .revoked)
        if remoteOnly { try container.encode(true, forKey: .remoteOnly) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let role = StaffRole(rawValue: try container.decode(String.self, forKey: .role)) else {
            throw DecodingError.dataCorruptedError(forKey: .role, in: container, debugDescription: "not a staff role")
        }
        self.init(
            id: try container.decode(String.self, forKey: .id), name: try container.decode(String.self, forKey: .name), role: role,
            createdAt: try container.instant(.created), revokedAt: try container.instantIfPresent(.revoked),
            remoteOnly: try container.decodeIfPresent(Bool.self, forKey: .remoteOnly) ?? false)
    }
}

/// Encoded as `account` and `token`: the one time the token is shown, so a front end prints it
/// once and keeps no copy.
extension IssuedToken: Codable {}
