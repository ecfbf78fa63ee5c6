import Foundation
import PatronVaultCrypto

/// What admins do with staff accounts: add one (its token shown once), list them, revoke one.
public struct StaffAdministration: Sendable {
    let gate: Gate

    /// Adds a staff account and returns its token, shown once: the vault cannot show it again.
    /// A `remoteOnly` account's token is refused by any process that opens the vault itself.
    public func addStaff(name: String, role: StaffRole, remoteOnly: Bool = false, by principal: Principal) async throws(VaultError) -> IssuedToken {
        let name = try FieldRules.accountName(name)
        return try await gate.write(principal, [AccessRequest(.staffManage, .staff)]) { tx in
            if try tx.records.staff(named: name) != nil {
                throw VaultError(.alreadyExists, "a staff account named \(name) already exists")
            }
            var (account, token) = Self.newAccount(name: name, role: role, at: tx.time)
            account.remoteOnly = remoteOnly
            let tokenHash = AccessToken.hash(token)
            // The seal first, like a key: a row without its seal grants nothing.
            try tx.storage.storeKeys(KeyBatch(staffSeals: [(account.id, tx.ring.staffSeal.tag(of: account, tokenHash: tokenHash, revoked: false))]), noting: tx.written)
            try tx.records.insertStaff(account, tokenHash: tokenHash)
            return IssuedToken(account: account, token: token)
        }
    }

    /// Lists accounts without their tokens, so an admin can see who has access. Every row must
    /// agree with its seal.
    public func listStaff(by principal: Principal) async throws(VaultError) -> [StaffAccount] {
        let gate = gate
        // Seals first: a revocation commits its row before its seal, so rows read after the
        // seals can be newer than them (a revoked row with its active seal, which is accepted)
        // but never older (an active row with its revoked seal, which would be refused). An
        // account added in between has its seal written before its row: its seal is read again.
        let seals: [String: [UInt8]]
        do {
            seals = try gate.storage.keys.staffSeals()
        } catch {
            throw Gate.vaultError(error)
        }
        let rows = try await gate.read(principal, [AccessRequest(.staffManage, .staff)]) { reader in try reader.allStaff() }
        return try Self.verifiedAccounts(rows, seals: seals, gate: gate)
    }

    /// Kept out of the async function: the release compiler (Swift 6.3.1) crashes splitting that
    /// coroutine when the throwing map sits inside it.
    private static func verifiedAccounts(_ rows: [StaffRow], seals: [String: [UInt8]], gate: Gate) throws(VaultError) -> [StaffAccount] {
        do {
            return try rows.map { row in
                if gate.ring.staffSeal.vouches(for: row, tag: seals[row.account.id]) { return row.account }
                return try gate.verified(row, seal: gate.storage.keys.staffSeal(id: row.account.id))
            }
        } catch {
            throw Gate.vaultError(error)
        }
    }

    /// Revokes an account at once; its token stops working for every front end.
    public func revokeStaff(name: String, by principal: Principal) async throws(VaultError) -> StaffAccount {
        let name = try FieldRules.accountName(name)
        let gate = gate
        let (revoked, tag) = try await gate.write(principal, [AccessRequest(.staffManage, .staff)]) { tx in
            guard let row = try tx.records.staff(named: name) else {
                throw VaultError.notFound("no staff account is named \(name)")
            }
            let account = try gate.verified(row, seal: tx.storage.keys.staffSeal(id: row.account.id))
            guard account.isActive else { throw VaultError(.alreadyExists, "the staff account \(name) is already revoked") }
            guard account.id != principal.id else { throw VaultError.invalid("an admin cannot revoke their own account") }
            try tx.records.revokeStaff(id: account.id, at: tx.time)
            let revoked = StaffAccount(
                id: account.id, name: account.name, role: account.role, createdAt: account.createdAt, revokedAt: tx.time, remoteOnly: account.remoteOnly)
            return (revoked, tx.ring.staffSeal.tag(of: account, tokenHash: row.tokenHash, revoked: true))
        }
        // The revocation has committed; sealing it means an earlier copy of the row, active,
        // no longer matches. Until then (or if this fails) the revoked row is still refused.
        try? await gate.storage.keys.sealStaff(id: revoked.id, tag: tag)
        return revoked
    }

    /// The first admin of a new vault, before anyone can be asked.
    func createFirstAdmin(name: String) async throws(VaultError) -> IssuedToken {
        let (account, token) = Self.newAccount(name: name, role: .admin, at: gate.clock.now())
        try await gate.createFirstAdmin(account, tokenHash: AccessToken.hash(token))
        return IssuedToken(account: account, token: token)
    }

    /// A new account and its token, shown once; only the token's hash is stored.
    private static func newAccount(name: String, role: StaffRole, at time: Date) -> (StaffAccount, String) {
        (StaffAccount(id: "stf-" + Hex.encode(SecureRandom.bytes(6)), name: name, role: role, createdAt: time, revokedAt: nil), AccessToken.generate())
    }
}
