import Foundation
import GRDB
import PatronVaultCrypto

extension Vault {
    /// Exchanges a bearer token for a staff principal. Only the token's hash is stored, and an
    /// unknown, malformed or revoked token gets the same answer so none can be told apart.
    public func authenticateStaff(token: String) throws(VaultError) -> Principal {
        let failure = VaultError(.authenticationFailed, "the staff token is not valid (unknown, revoked or mistyped)")
        guard AccessToken.looksValid(token) else { throw failure }
        let hash = Data(AccessToken.hash(token))
        let row = try run {
            try VaultStorage.read(storage.records) { db in
                try Row.fetchOne(db.cachedStatement(sql: "SELECT id, name, role, revoked_at FROM staff WHERE token_hash = ?"), arguments: [hash])
            }
        }
        guard let row, row["revoked_at"] as Int64? == nil, let role = StaffRole(rawValue: row["role"]) else { throw failure }
        return .staff(id: row["id"], name: row["name"], role: role)
    }

    func createFirstAdmin(name: String) throws(VaultError) -> IssuedToken {
        try run { try storage.records.write { db in try insertStaff(name: name, role: .admin, in: db) } }
    }

    /// Adds a staff account and returns its token, shown once: the vault cannot show it again.
    public func addStaff(name: String, role: StaffRole, by principal: Principal) throws(VaultError) -> IssuedToken {
        let name = try FieldRules.accountName(name)
        return try gatedWrite { db in
            try authorize(principal, .staffManage, .staff, in: db)
            return try insertStaff(name: name, role: role, in: db)
        }
    }

    /// Lists accounts without their tokens, so an admin can see who has access.
    public func listStaff(by principal: Principal) throws(VaultError) -> [StaffAccount] {
        try gatedWrite { db in
            try authorize(principal, .staffManage, .staff, in: db)
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT id, name, role, created_at, revoked_at FROM staff ORDER BY name")).map(Self.staffAccount)
        }
    }

    /// Revokes an account at once; its token stops working for every front end.
    public func revokeStaff(name: String, by principal: Principal) throws(VaultError) -> StaffAccount {
        let name = try FieldRules.accountName(name)
        return try gatedWrite { db in
            try authorize(principal, .staffManage, .staff, in: db)
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, name, role, created_at, revoked_at FROM staff WHERE name = ?"), arguments: [name]) else {
                throw VaultError.notFound("no staff account is named \(name)")
            }
            let account = Self.staffAccount(row)
            guard account.isActive else { throw VaultError(.alreadyExists, "the staff account \(name) is already revoked") }
            guard account.id != principal.id else { throw VaultError.invalid("an admin cannot revoke their own account") }
            let revokedAt = now
            try db.execute(sql: "UPDATE staff SET revoked_at = ? WHERE id = ?", arguments: [Self.millis(revokedAt), account.id])
            return StaffAccount(id: account.id, name: account.name, role: account.role, createdAt: account.createdAt, revokedAt: revokedAt)
        }
    }

    private func insertStaff(name: String, role: StaffRole, in db: Database) throws -> IssuedToken {
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM staff WHERE name = ?"), arguments: [name]) == true {
            throw VaultError(.alreadyExists, "a staff account named \(name) already exists")
        }
        let token = AccessToken.generate()
        let id = "stf-" + Hex.encode(SecureRandom.bytes(6))
        let createdAt = now
        try db.execute(
            sql: "INSERT INTO staff(id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [id, name, role.rawValue, Data(AccessToken.hash(token)), Self.millis(createdAt)])
        return IssuedToken(account: StaffAccount(id: id, name: name, role: role, createdAt: createdAt, revokedAt: nil), token: token)
    }

    private static func staffAccount(_ row: Row) -> StaffAccount {
        StaffAccount(
            id: row["id"], name: row["name"], role: StaffRole(rawValue: row["role"]) ?? .staff,
            createdAt: date(millis: row["created_at"]), revokedAt: (row["revoked_at"] as Int64?).map(date(millis:)))
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}
