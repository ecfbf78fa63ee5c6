import Foundation
import PatronVaultCrypto
import PatronVaultPolicy

/// What a finished master key rotation did.
public struct KeyRotationReport: Sendable, Codable, Equatable {
    /// The version the vault opened with, and the one it opens with from now on.
    public let fromVersion: Int64
    public let toVersion: Int64
    /// `key-file` or `passphrase`: how the new master key is obtained.
    public let keySource: String
    /// Patron keys rewrapped by this run (a resumed run counts only its own).
    public let patronKeysRewrapped: Int
    /// Whether this run finished a rotation an earlier run had begun.
    public let resumed: Bool
}

/// The key store as a host admin sees it: which master-key version wraps how many keys, and
/// whether a rotation is in progress. Counts only, no key and no patron.
public struct KeyStatus: Sendable, Codable, Equatable {
    public struct Version: Sendable, Codable, Equatable {
        public let version: Int64
        public let patronKeys: Int
        public let systemKeys: Int
    }

    public struct Rotation: Sendable, Codable, Equatable {
        public let toVersion: Int64
        public let keySource: String
        /// Patron keys still wrapped under the current version.
        public let patronKeysLeft: Int
    }

    /// An audit and export key pair a signing-key rotation retired (public halves, hex).
    public struct RetiredSigningKey: Sendable, Codable, Equatable {
        public let auditKey: String
        public let exportKey: String
        public let retiredAt: String
    }

    public let keySource: String
    public let currentVersion: Int64
    /// The versions that still wrap keys; every other version is retired, and its master key
    /// opens nothing in this key store (key-store backups taken before may still need it).
    public let versions: [Version]
    public let recordKeys: Int
    public let rotation: Rotation?
    /// As stored (its MAC is checked when the vault opens, with the master key).
    public let retiredSigningKeys: [RetiredSigningKey]
}

extension Vault {
    /// How many patron keys a rotation rewraps in one key-store transaction.
    public static let rotationBatchSize = 10_000

    /// Rotates the master key: the new key wraps every patron and system key in place of the
    /// current one, in batches, without re-encrypting a record (records are sealed under record
    /// keys the patron keys wrap, and the master-key version is in no record's associated data).
    ///
    /// The folder must be open nowhere else: a daemon would go on wrapping new patron keys
    /// under the old key. The rotation is recorded, durably, before its first batch, with a
    /// check value sealed under the new key: a run killed at any point leaves a vault that the
    /// next run with the same new key finishes (patron keys already rewrapped are skipped), and
    /// that refuses to open meanwhile. The last step rewraps the system keys and switches the
    /// vault to the new version in one durable transaction; from then on the old master key
    /// opens nothing in this key store and may be destroyed.
    ///
    /// `next` is a key file to create (resuming: the one created before) or a new passphrase.
    /// Deciding and recording the rotation goes through the gate as `keys.manage`.
    public static func rotateMasterKey(
        at directory: URL, from current: MasterKeySource, to next: MasterKeySource, policies: PolicySet,
        configuration: VaultConfiguration = VaultConfiguration(), batchSize: Int = rotationBatchSize,
        authorizing principal: (Vault) async throws -> Principal
    ) async throws(VaultError) -> KeyRotationReport {
        try await rotateMasterKey(
            at: directory, from: current, to: next, policies: policies, configuration: configuration, batchSize: batchSize, storage: .embedded,
            authorizing: principal)
    }

    /// The same for a vault whose stores are elsewhere (PostgreSQL).
    package static func rotateMasterKey(
        at directory: URL, from current: MasterKeySource, to next: MasterKeySource, policies: PolicySet,
        configuration: VaultConfiguration = VaultConfiguration(), batchSize: Int = rotationBatchSize, storage: VaultStorageSource,
        authorizing principal: (Vault) async throws -> Principal
    ) async throws(VaultError) -> KeyRotationReport {
        guard batchSize > 0 else { throw VaultError.invalid("the batch size must be a positive number") }
        let vault = try await openAlone(
            at: directory, masterKey: current, policies: policies, configuration: configuration, storage: storage, resumingRotation: true)
        do {
            let report = try await MasterKeyRotation(vault: vault, configuration: configuration, batchSize: batchSize)
                .run(to: next, by: try await principal(vault))
            await vault.close()
            return report
        } catch {
            await vault.close()
            throw Gate.vaultError(error)
        }
    }

    /// The key store's versions and counts, read without the master key: what an admin checks
    /// before deleting an old master key, and while a rotation is in progress.
    public static func keyStatus(at directory: URL) async throws(VaultError) -> KeyStatus {
        try await keyStatus(at: directory, storage: .embedded)
    }

    /// The same for a vault whose stores are elsewhere (PostgreSQL): only reads, so no lock on
    /// the vault is needed.
    package static func keyStatus(at directory: URL, storage source: VaultStorageSource) async throws(VaultError) -> KeyStatus {
        let storage = try source.open(directory: directory, mode: .shared)
        do {
            let metadata = try await storage.keys.metadata()
            let source = try KeyRing.keySource(in: metadata).source
            guard let current = metadata[KeyRing.kekVersionName].flatMap({ Int64(String(decoding: $0, as: UTF8.self)) }) else {
                throw VaultError(.corruptVault, "the key store has no key metadata; it is not a PatronVault key store")
            }
            let counts = try storage.keys.keyVersions()
            let versions = Set(counts.patronKeys.keys).union(counts.systemKeys.keys).sorted().map { version in
                KeyStatus.Version(version: version, patronKeys: counts.patronKeys[version] ?? 0, systemKeys: counts.systemKeys[version] ?? 0)
            }
            let rotation = KeyRing.rotationTarget(in: metadata).map { target in
                KeyStatus.Rotation(
                    toVersion: target, keySource: metadata[KeyRing.rotationSourceName].map { String(decoding: $0, as: UTF8.self) } ?? "unknown",
                    patronKeysLeft: counts.patronKeys[current] ?? 0)
            }
            guard let retired = RetiredSigningKeys.unverified(stored: metadata[RetiredSigningKeys.metadataName]) else { throw VaultError.integrity }
            await storage.close()
            return KeyStatus(
                keySource: source, currentVersion: current, versions: versions, recordKeys: counts.recordKeys, rotation: rotation,
                retiredSigningKeys: retired.pairs.map { .init(auditKey: $0.auditKey.hex, exportKey: $0.exportKey.hex, retiredAt: $0.retiredAt.iso8601Text) })
        } catch {
            await storage.close()
            throw Gate.vaultError(error)
        }
    }
}

/// One run of a master key rotation over an open vault whose folder it holds alone.
struct MasterKeyRotation {
    let vault: Vault
    let configuration: VaultConfiguration
    let batchSize: Int

    private var ring: KeyRing { vault.gate.ring }
    private var keys: any KeyStore { vault.gate.storage.keys }

    func run(to next: MasterKeySource, by principal: Principal) async throws -> KeyRotationReport {
        try await vault.gate.write(principal, [AccessRequest(.keysManage, .keys)], readsOnly: true) { _ in }
        let metadata = try await keys.metadata()
        let from = ring.kekVersion
        let target: (kek: SymmetricKey, source: String, salt: [UInt8]?)
        let resumed: Bool
        if let recorded = KeyRing.rotationTarget(in: metadata) {
            guard recorded == from + 1, let check = metadata[KeyRing.rotationCheckName] else { throw VaultError.integrity }
            target = try await resume(to: next, check: check, metadata: metadata, version: recorded)
            resumed = true
        } else {
            target = try await begin(to: next, version: from + 1)
            resumed = false
        }
        let to = from + 1
        let rewrapped = try rewrapPatronKeys(from: from, to: to, under: target.kek)
        var systemKeys: [(name: String, wrapped: [UInt8])] = []
        for row in try await keys.systemKeys() {
            let key: SymmetricKey
            do {
                key = try ring.kek.unwrap(row.wrapped, authenticating: RecordAssociatedData.systemKey(name: row.name, kekVersion: row.kekVersion))
            } catch {
                throw VaultError.integrity
            }
            systemKeys.append((row.name, target.kek.wrap(key, authenticating: RecordAssociatedData.systemKey(name: row.name, kekVersion: to))))
        }
        var final: [String: [UInt8]] = [
            KeyRing.kekVersionName: Array(String(to).utf8),
            KeyRing.kekCheckName: KeyRing.check(sealedUnder: target.kek, version: to),
            KeyRing.keySourceName: Array(target.source.utf8),
        ]
        var removing = KeyRing.rotationNames
        if let salt = target.salt { final[KeyRing.saltName] = salt } else { removing.append(KeyRing.saltName) }
        if ring.acceptsFixedClock { final[KeyRing.clockName] = KeyRing.fixedClockMark(sealedUnder: target.kek) }
        try keys.finishRotation(to: to, systemKeys: systemKeys, setting: final, removing: removing)
        return KeyRotationReport(fromVersion: from, toVersion: to, keySource: target.source, patronKeysRewrapped: rewrapped, resumed: resumed)
    }

    /// Rewraps every patron key still at `from` under `kek` as version `to`, a batch per
    /// transaction, through one guarded slot.
    private func rewrapPatronKeys(from: Int64, to: Int64, under kek: SymmetricKey) throws -> Int {
        let slot: SymmetricKey
        do { slot = try SymmetricKey.slot() } catch { throw KeySlotPool.secureMemoryFailure }
        defer { slot.wipe() }
        let old = ring.kek
        let rewrap: (PatronPseudonym, [UInt8]) throws -> [UInt8] = { patron, wrapped in
            do {
                try old.unwrap(wrapped, authenticating: RecordAssociatedData.patronKey(patron: patron, kekVersion: from), into: slot)
            } catch {
                throw VaultError.integrity
            }
            return kek.wrap(slot, authenticating: RecordAssociatedData.patronKey(patron: patron, kekVersion: to))
        }
        var rewrapped = 0
        var cursor: Int64 = 0
        while let batch = try keys.rewrapPatronKeys(from: from, to: to, after: cursor, limit: batchSize, rewrap) {
            cursor = batch.lastRowID
            rewrapped += batch.rewrapped
        }
        return rewrapped
    }

    /// Makes the new master key and records the rotation before any key is rewrapped under it.
    /// A new key file is written (0600, never over an existing file) and synced first, so a
    /// recorded rotation never names a key that is not on disk.
    private func begin(to next: MasterKeySource, version: Int64) async throws -> (kek: SymmetricKey, source: String, salt: [UInt8]?) {
        let kek: SymmetricKey
        let source: String
        var salt: [UInt8]?
        switch next {
        case .keyFile(let url):
            if FileManager.default.fileExists(atPath: url.path) {
                throw VaultError(.alreadyExists, "the new key file \(url.path) already exists; a rotation writes a new file and never overwrites a key")
            }
            kek = try KeyFile.create(at: url)
            source = "key-file"
        case .passphrase(let passphrase):
            try FieldRules.passphrase(passphrase)
            let newSalt = SecureRandom.bytes(Argon2id.saltByteCount)
            kek = try await Vault.stretch(passphrase, salt: newSalt, limits: configuration.passphraseLimits, on: KeyDerivationQueue(limit: 1))
            salt = newSalt
            source = "passphrase"
        }
        var values: [String: [UInt8]] = [
            KeyRing.rotationTargetName: Array(String(version).utf8),
            KeyRing.rotationCheckName: KeyRing.check(sealedUnder: kek, version: version),
            KeyRing.rotationSourceName: Array(source.utf8),
        ]
        if let salt { values[KeyRing.rotationSaltName] = salt }
        try keys.replaceMetadata(setting: values, removing: [])
        return (kek, source, salt)
    }

    /// The new master key of a recorded rotation, checked against the value sealed under it
    /// when the rotation began.
    private func resume(
        to next: MasterKeySource, check: [UInt8], metadata: [String: [UInt8]], version: Int64
    ) async throws -> (kek: SymmetricKey, source: String, salt: [UInt8]?) {
        let recordedSource = metadata[KeyRing.rotationSourceName].map { String(decoding: $0, as: UTF8.self) }
        let kek: SymmetricKey
        var salt: [UInt8]?
        switch next {
        case .keyFile(let url):
            guard recordedSource == "key-file" else {
                throw VaultError(.wrongMasterKey, "the interrupted rotation moves to a passphrase, not a key file; give the same new passphrase")
            }
            kek = try KeyFile.read(at: url)
        case .passphrase(let passphrase):
            guard recordedSource == "passphrase", let recordedSalt = metadata[KeyRing.rotationSaltName] else {
                throw VaultError(.wrongMasterKey, "the interrupted rotation moves to a key file, not a passphrase; give the same new key file")
            }
            kek = try await Vault.stretch(passphrase, salt: recordedSalt, limits: configuration.passphraseLimits, on: KeyDerivationQueue(limit: 1))
            salt = recordedSalt
        }
        guard KeyRing.opens(check, with: kek, version: version) else {
            throw VaultError(.wrongMasterKey, "the new master key is not the one the interrupted rotation began with")
        }
        return (kek, recordedSource ?? "key-file", salt)
    }
}
