import Foundation
import GRDB
import PatronVaultCrypto

/// The unwrapped top of the key hierarchy for one open vault:
///
///     master key (KEK, key file or Argon2id passphrase)
///       ├─ blind-index root ─ KDF ─ card / email / name / item index keys
///       ├─ audit signing seed (Ed25519) and audit MAC key
///       └─ patron key (random, one per patron)
///            └─ record key (random, one per record) ─ seals the record
///
/// Everything below the KEK is stored only wrapped, in `keys.db`.
final class KeyRing: Sendable {
    static let kekCheckName = "kek_check"
    static let kekVersionName = "kek_version"
    static let keySourceName = "key_source"
    static let saltName = "passphrase_salt"
    static let blindIndexRootName = "blind-index-root"
    static let auditSeedName = "audit-signing-seed"
    static let auditMACName = "audit-mac-key"

    let kek: SymmetricKey
    let kekVersion: Int64
    let card: BlindIndexKey
    let email: BlindIndexKey
    let name: BlindIndexKey
    let item: BlindIndexKey
    let auditSigningKey: SigningKey
    /// Keys the audit trail's MAC chain, so only the vault can extend it.
    let auditMACKey: SymmetricKey

    private init(kek: SymmetricKey, kekVersion: Int64, blindIndexRoot: SymmetricKey, auditSeed: SymmetricKey, auditMAC: SymmetricKey) throws(CryptoError) {
        self.kek = kek
        self.kekVersion = kekVersion
        card = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 1, context: "blindidx"))
        email = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 2, context: "blindidx"))
        name = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 3, context: "blindidx"))
        item = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 4, context: "blindidx"))
        auditSigningKey = try SigningKey(seed: auditSeed)
        auditMACKey = auditMAC
    }

    private static func kekCheckAD(version: Int64) -> [UInt8] {
        RecordAssociatedData.systemKey(name: kekCheckName, kekVersion: version)
    }

    /// Writes the key metadata and fresh system keys for a new vault.
    static func create(kek: SymmetricKey, source: String, salt: [UInt8]?, in db: Database) throws -> KeyRing {
        let version: Int64 = 1
        try db.execute(sql: "INSERT INTO key_meta(name, value) VALUES (?, ?)", arguments: [keySourceName, Data(source.utf8)])
        try db.execute(sql: "INSERT INTO key_meta(name, value) VALUES (?, ?)", arguments: [kekVersionName, Data(String(version).utf8)])
        if let salt {
            try db.execute(sql: "INSERT INTO key_meta(name, value) VALUES (?, ?)", arguments: [saltName, Data(salt)])
        }
        let check = XChaCha20Poly1305.seal(Array("patronvault".utf8), using: kek, authenticating: kekCheckAD(version: version))
        try db.execute(sql: "INSERT INTO key_meta(name, value) VALUES (?, ?)", arguments: [kekCheckName, Data(check)])
        let root = try SymmetricKey.random()
        let seed = try SymmetricKey.random()
        let mac = try SymmetricKey.random()
        for (name, key) in [(blindIndexRootName, root), (auditSeedName, seed), (auditMACName, mac)] {
            let wrapped = kek.wrap(key, authenticating: RecordAssociatedData.systemKey(name: name, kekVersion: version))
            try db.execute(
                sql: "INSERT INTO system_key(name, kek_version, wrapped) VALUES (?, ?, ?)",
                arguments: [name, version, Data(wrapped)])
        }
        return try KeyRing(kek: kek, kekVersion: version, blindIndexRoot: root, auditSeed: seed, auditMAC: mac)
    }

    /// How the KEK of an existing vault is obtained, and the salt for a passphrase.
    static func keySource(in db: Database) throws -> (source: String, salt: [UInt8]?) {
        guard let source = try Data.fetchOne(db, sql: "SELECT value FROM key_meta WHERE name = ?", arguments: [keySourceName]) else {
            throw VaultError(.corruptVault, "the key store has no key metadata; it is not a PatronVault key store")
        }
        let salt = try Data.fetchOne(db, sql: "SELECT value FROM key_meta WHERE name = ?", arguments: [saltName])
        return (String(decoding: source, as: UTF8.self), salt.map { Array($0) })
    }

    /// Checks the KEK against the stored check value, then unwraps the system keys.
    static func open(kek: SymmetricKey, in db: Database) throws -> KeyRing {
        guard let versionData = try Data.fetchOne(db, sql: "SELECT value FROM key_meta WHERE name = ?", arguments: [kekVersionName]),
              let version = Int64(String(decoding: versionData, as: UTF8.self)),
              let check = try Data.fetchOne(db, sql: "SELECT value FROM key_meta WHERE name = ?", arguments: [kekCheckName])
        else {
            throw VaultError(.corruptVault, "the key store has no key metadata; it is not a PatronVault key store")
        }
        do {
            _ = try XChaCha20Poly1305.open(Array(check), using: kek, authenticating: kekCheckAD(version: version))
        } catch {
            throw VaultError(.wrongMasterKey, "the master key does not open this vault (wrong key file or passphrase)")
        }
        var unwrapped: [String: SymmetricKey] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, kek_version, wrapped FROM system_key") {
            let name: String = row["name"]
            let wrappedVersion: Int64 = row["kek_version"]
            let wrapped: Data = row["wrapped"]
            do {
                unwrapped[name] = try kek.unwrap(
                    Array(wrapped), authenticating: RecordAssociatedData.systemKey(name: name, kekVersion: wrappedVersion))
            } catch {
                throw VaultError.integrity
            }
        }
        guard let root = unwrapped[blindIndexRootName], let seed = unwrapped[auditSeedName], let mac = unwrapped[auditMACName] else {
            throw VaultError(.corruptVault, "the key store is missing system keys")
        }
        return try KeyRing(kek: kek, kekVersion: version, blindIndexRoot: root, auditSeed: seed, auditMAC: mac)
    }
}

/// Reusable guarded slots for the patron and record keys of the operation in progress. Used only
/// inside the records queue, which serialises every access, so one pair serves all operations
/// without a `sodium_malloc` per record.
final class KeySlots: @unchecked Sendable {
    let patron: SymmetricKey
    let record: SymmetricKey

    init() throws(CryptoError) {
        patron = try SymmetricKey.slot()
        record = try SymmetricKey.slot()
    }

    func wipe() {
        patron.wipe()
        record.wipe()
    }
}
