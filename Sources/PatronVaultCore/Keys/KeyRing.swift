import Foundation
import PatronVaultAudit
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
    static let clockName = "clock"
    private static let clockAD = Array("patronvault.clock-mark".utf8)
    /// A rotation in progress: the version it moves to, that version's check value (so a resumed
    /// rotation knows it was given the same new key), and where the new key comes from.
    static let rotationTargetName = "rotation_target"
    static let rotationCheckName = "rotation_check"
    static let rotationSourceName = "rotation_key_source"
    static let rotationSaltName = "rotation_passphrase_salt"
    static let rotationNames = [rotationTargetName, rotationCheckName, rotationSourceName, rotationSaltName]

    let kek: SymmetricKey
    let kekVersion: Int64
    let card: BlindIndexKey
    let email: BlindIndexKey
    let name: BlindIndexKey
    let item: BlindIndexKey
    let auditSigningKey: SigningKey
    /// Signs export bundles and erasure receipts, so a patron can check what they were given
    /// with only its public half. Derived from the seed the audit key comes from (its own
    /// context), so vaults made before exports existed have it without a new stored key.
    let exportSigningKey: SigningKey
    /// Keys the audit trail's MAC chain, so only the vault can extend it.
    let auditMACKey: SymmetricKey
    /// Audit and export keys replaced by rotations: their public halves, to verify what they signed.
    let retiredSigningKeys: RetiredSigningKeys
    /// Keys patrons' record sets and the tags on queued shreds.
    let recordSet: RecordSetKey
    /// Seals staff rows.
    let staffSeal: StaffSealKey
    /// Seals legal orders: a system key (no patron key), so an order outlives the patron's
    /// erasure as the record of a lawful process; derived, as it needs no shredding of its own.
    let legalOrderKey: SymmetricKey
    /// Whether this vault was created for tests and demos, on a fixed clock.
    let acceptsFixedClock: Bool
    /// Whether this vault was made before record sets and staff seals, and must be upgraded
    /// before it is used. Read from the sealed check value, so an edit cannot make a newer vault
    /// pass for an older one and have its record sets rebuilt from edited rows.
    var predatesRecordSets: Bool { checkBeforeRecordSets != nil }

    /// The check value's plaintext: a vault with record sets and staff seals seals the last; a
    /// release before them sealed the first. The middle one was sealed only by a development
    /// build, whose vaults are refused rather than rebuilt from their rows.
    private static let checkBeforeUpgrade = Array("patronvault".utf8)
    private static let checkOfDevelopmentBuild = Array("patronvault.record-sets".utf8)
    private static let checkWithRecordSets = Array("patronvault.v3".utf8)
    /// The sealed check value of a vault that predates record sets, as read at open: the upgrade
    /// runs only while the key store still holds exactly this value, so two processes opening
    /// the same old vault upgrade it once.
    let checkBeforeRecordSets: [UInt8]?

    private init(
        kek: SymmetricKey, kekVersion: Int64, blindIndexRoot: SymmetricKey, auditSeed: SymmetricKey, auditMAC: SymmetricKey, acceptsFixedClock: Bool,
        checkBeforeRecordSets: [UInt8]? = nil, retiredSigningKeys: RetiredSigningKeys = RetiredSigningKeys()
    ) throws(CryptoError) {
        self.retiredSigningKeys = retiredSigningKeys
        self.acceptsFixedClock = acceptsFixedClock
        self.checkBeforeRecordSets = checkBeforeRecordSets
        recordSet = RecordSetKey(key: try blindIndexRoot.deriveSubkey(id: 5, context: "blindidx"))
        staffSeal = StaffSealKey(key: try blindIndexRoot.deriveSubkey(id: 6, context: "blindidx"))
        legalOrderKey = try blindIndexRoot.deriveSubkey(id: 1, context: "pvorders")
        self.kek = kek
        self.kekVersion = kekVersion
        card = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 1, context: "blindidx"))
        email = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 2, context: "blindidx"))
        name = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 3, context: "blindidx"))
        item = BlindIndexKey(key: try blindIndexRoot.deriveSubkey(id: 4, context: "blindidx"))
        auditSigningKey = try SigningKey(seed: auditSeed)
        exportSigningKey = try SigningKey(seed: auditSeed.deriveSubkey(id: 1, context: "pvexport"))
        auditMACKey = auditMAC
    }

    private static func kekCheckAD(version: Int64) -> [UInt8] {
        RecordAssociatedData.systemKey(name: kekCheckName, kekVersion: version)
    }

    /// The check value a vault with record sets keeps for master-key `version`.
    static func check(sealedUnder kek: SymmetricKey, version: Int64) -> [UInt8] {
        XChaCha20Poly1305.seal(checkWithRecordSets, using: kek, authenticating: kekCheckAD(version: version))
    }

    /// Whether `kek` is the key a check value of `version` was sealed under.
    static func opens(_ check: [UInt8], with kek: SymmetricKey, version: Int64) -> Bool {
        (try? XChaCha20Poly1305.open(check, using: kek, authenticating: kekCheckAD(version: version))) == checkWithRecordSets
    }

    /// The sealed mark of a vault made on a fixed clock, under `kek`.
    static func fixedClockMark(sealedUnder kek: SymmetricKey) -> [UInt8] {
        XChaCha20Poly1305.seal(Array("fixed".utf8), using: kek, authenticating: clockAD)
    }

    /// The version a rotation in progress moves to, if one is recorded.
    static func rotationTarget(in metadata: [String: [UInt8]]) -> Int64? {
        metadata[rotationTargetName].flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
    }

    /// Writes the key metadata and fresh system keys of a new vault. `fixedClock` marks a vault
    /// made for tests and demos: only such a vault accepts a fixed clock later, and the mark is
    /// sealed under the master key so it cannot be set by editing the key store.
    static func create(kek: SymmetricKey, source: String, salt: [UInt8]?, fixedClock: Bool, in store: any KeyStore) async throws -> KeyRing {
        let version: Int64 = 1
        var metadata: [String: [UInt8]] = [
            keySourceName: Array(source.utf8),
            kekVersionName: Array(String(version).utf8),
            kekCheckName: check(sealedUnder: kek, version: version),
        ]
        if let salt { metadata[saltName] = salt }
        if fixedClock { metadata[clockName] = fixedClockMark(sealedUnder: kek) }
        let root = try SymmetricKey.random()
        let seed = try SymmetricKey.random()
        let mac = try SymmetricKey.random()
        let wrapped = [(blindIndexRootName, root), (auditSeedName, seed), (auditMACName, mac)].map { name, key in
            (name: name, kekVersion: version, wrapped: kek.wrap(key, authenticating: RecordAssociatedData.systemKey(name: name, kekVersion: version)))
        }
        try await store.create(metadata: metadata, systemKeys: wrapped)
        return try KeyRing(kek: kek, kekVersion: version, blindIndexRoot: root, auditSeed: seed, auditMAC: mac, acceptsFixedClock: fixedClock)
    }

    /// How the KEK of an existing vault is obtained, and the salt for a passphrase.
    static func keySource(in metadata: [String: [UInt8]]) throws(VaultError) -> (source: String, salt: [UInt8]?) {
        guard let source = metadata[keySourceName] else {
            throw VaultError(.corruptVault, "the key store has no key metadata; it is not a PatronVault key store")
        }
        return (String(decoding: source, as: UTF8.self), metadata[saltName])
    }

    /// Checks the KEK against the stored check value, then unwraps the system keys.
    static func open(kek: SymmetricKey, metadata: [String: [UInt8]], in store: any KeyStore) async throws -> KeyRing {
        guard let versionData = metadata[kekVersionName], let version = Int64(String(decoding: versionData, as: UTF8.self)),
              let check = metadata[kekCheckName]
        else {
            throw VaultError(.corruptVault, "the key store has no key metadata; it is not a PatronVault key store")
        }
        let checked: [UInt8]
        do {
            checked = try XChaCha20Poly1305.open(check, using: kek, authenticating: kekCheckAD(version: version))
        } catch {
            throw VaultError(.wrongMasterKey, "the master key does not open this vault (wrong key file or passphrase)")
        }
        if checked == checkOfDevelopmentBuild {
            throw VaultError(
                .corruptVault, "this vault was made by a development build of PatronVault and cannot be upgraded safely; restore it from a backup")
        }
        guard checked == checkWithRecordSets || checked == checkBeforeUpgrade else { throw VaultError.integrity }
        var acceptsFixedClock = false
        if let mark = metadata[clockName] {
            guard let opened = try? XChaCha20Poly1305.open(mark, using: kek, authenticating: clockAD), opened == Array("fixed".utf8) else {
                throw VaultError.integrity
            }
            acceptsFixedClock = true
        }
        var unwrapped: [String: SymmetricKey] = [:]
        for row in try await store.systemKeys() {
            do {
                unwrapped[row.name] = try kek.unwrap(row.wrapped, authenticating: RecordAssociatedData.systemKey(name: row.name, kekVersion: row.kekVersion))
            } catch {
                throw VaultError.integrity
            }
        }
        guard let root = unwrapped[blindIndexRootName], let seed = unwrapped[auditSeedName], let mac = unwrapped[auditMACName] else {
            throw VaultError(.corruptVault, "the key store is missing system keys")
        }
        let retired = try RetiredSigningKeys(stored: metadata[RetiredSigningKeys.metadataName], macKey: mac)
        return try KeyRing(
            kek: kek, kekVersion: version, blindIndexRoot: root, auditSeed: seed, auditMAC: mac, acceptsFixedClock: acceptsFixedClock,
            checkBeforeRecordSets: checked == checkBeforeUpgrade ? check : nil, retiredSigningKeys: retired)
    }

    /// The audit keys a verifier of this vault's trail accepts: the current one, and retired ones
    /// for what they signed before they retired.
    var auditKeys: AuditSigningKeys { retiredSigningKeys.auditKeys(current: auditSigningKey.publicKey) }

    /// The metadata that marks an upgraded vault as having record sets.
    func metadataWithRecordSets() -> [String: [UInt8]] {
        [Self.kekCheckName: XChaCha20Poly1305.seal(Self.checkWithRecordSets, using: kek, authenticating: Self.kekCheckAD(version: kekVersion))]
    }
}
