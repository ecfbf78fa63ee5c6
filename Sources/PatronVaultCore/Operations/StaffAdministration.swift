import Foundation
import PatronVaultCrypto

/// What admins do with staff accounts: add one (its token shown once), list them, revoke one.
public struct StaffAdministration: Sendable {
    let gate: Gate

    /// Adds a staff account and returns its token, shown once: the vault cannot show it again.
    public func addStaff(name: String, role: StaffRole, by principal: Principal) async throws(VaultError) -> IssuedToken {
        let name = try FieldRules.accountName(name)
        return try await gate.write(principal, [AccessRequest(.staffManage, .staff)]) { tx in
            try Self.insertStaff(name: name, role: role, at: tx.time, in: tx.records)
        }
    }

    /// Lists accounts without their tokens, so an admin can see who has access.
    public func listStaff(by principal: Principal) async throws(VaultError) -> [StaffAccount] {
        try await gate.read(principal, [AccessRequest(.staffManage, .staff)]) { reader in try reader.allStaff() }
    }

    /// Revokes an account at once; its token stops working for every front end.
    public func revokeStaff(name: String, by principal: Principal) async throws(VaultError) -> StaffAccount {
        let name = try FieldRules.accountName(name)
        return try await gate.write(principal, [AccessRequest(.staffManage, .staff)]) { tx in
            guard let account = try tx.records.staff(named: name) else {
                throw VaultError.notFound("no staff account is named \(name)")
            }
            guard account.isActive else { throw VaultError(.alreadyExists, "the staff account \(name) is already revoked") }
            guard account.id != principal.id else { throw VaultError.invalid("an admin cannot revoke their own account") }
            try tx.records.revokeStaff(id: account.id, at: tx.time)
            return StaffAccount(id: account.id, name: account.name, role: account.role, createdAt: account.createdAt, revokedAt: tx.time)
        }
    }

    /// The first admin of a new vault, before anyone can be asked.
    func createFirstAdmin(name: String) async throws(VaultError) -> IssuedToken {
        let (account, token) = Self.newAccount(name: name, role: .admin, at: gate.clock.now())
        try await gate.createFirstAdmin(account, tokenHash: AccessToken.hash(token))
        return IssuedToken(account: account, token: token)
    }

    private static func insertStaff(name: String, role: StaffRole, at time: Date, in records: any RecordTransaction) throws -> IssuedToken {
        if try records.staff(named: name) != nil {
            throw VaultError(.alreadyExists, "a staff account named \(name) already exists")
        }
        let (account, token) = newAccount(name: name, role: role, at: time)
        try records.insertStaff(account, tokenHash: AccessToken.hash(token))
        return IssuedToken(account: account, token: token)
    }

    /// A new account and its token, shown once; only the token's hash is stored.
    private static func newAccount(name: String, role: StaffRole, at time: Date) -> (StaffAccount, String) {
        (StaffAccount(id: "stf-" + Hex.encode(SecureRandom.bytes(6)), name: name, role: role, createdAt: time, revokedAt: nil), AccessToken.generate())
    }
}
