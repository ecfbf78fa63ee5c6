import Foundation

/// A staff account as listed to admins; tokens are never listed, only whether the account is live.
public struct StaffAccount: Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: StaffRole
    public let createdAt: Date
    public let revokedAt: Date?

    public var isActive: Bool { revokedAt == nil }
}

/// A bearer token shown exactly once at creation; the vault keeps only its hash.
public struct IssuedToken: Sendable {
    public let account: StaffAccount
    public let token: String
}
