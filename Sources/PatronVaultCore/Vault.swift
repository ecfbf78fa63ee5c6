import Foundation
import PatronVaultCrypto
import PatronVaultPolicy

/// An open vault: a thin handle over the rooms people use (the circulation desk, patron
/// self-service, staff administration, oversight), all of which reach patron data only through
/// the gate. Front ends never see keys, SQL or storage.
public final class Vault: Sendable {
    /// The file name of the master key `initialize` creates inside the vault folder by default.
    public static let defaultKeyFileName = "master.key"

    public let directory: URL
    /// The rules every access is decided by, loaded from `Policies/`.
    public let policies: PolicySet
    public let signIn: SignIn
    public let desk: CirculationDesk
    public let selfService: PatronSelfService
    public let administration: StaffAdministration
    public let oversight: Oversight
    /// Backups of the records and the key store, taken while the vault serves.
    public let backups: Backups
    /// The legal-process workflow: file, approve (a second person), disclose, list.
    public let legalOrders: LegalOrders
    public let retention: Retention
    /// The upkeep a long-lived process runs as a service.
    public let maintenance: VaultMaintenance
    /// The audit trail's last verification, for a long-lived process to run as a service and
    /// report (the daemon's `/health`).
    public let auditWatch: AuditWatch
    /// The public half of the export key: what `ExportBundleVerifier` checks a patron's bundle
    /// and erasure receipt with. Public by nature, so reading it needs no principal.
    public var exportVerifyingKey: VerifyingKey { gate.ring.exportSigningKey.publicKey }

    /// The privacy notice of the rules this vault enforces, dated by its clock. Public, and not
    /// recorded: it says what the rules are, nothing about anyone.
    public func privacyNotice() -> PrivacyNotice {
        PrivacyNotice(policies: policies, today: CalendarDay(gate.clock.now()))
    }
    let gate: Gate
    /// This process's hold on the vault folder, kept while the vault is open.
    private let lock: VaultLock?

    init(directory: URL, storage: VaultStorage, ring: KeyRing, policies: PolicySet, configuration: VaultConfiguration, lock: VaultLock? = nil) {
        self.directory = directory
        self.lock = lock
        self.policies = policies
        gate = Gate(storage: storage, ring: ring, policies: policies, configuration: configuration)
        let derivations = KeyDerivationQueue(limit: configuration.concurrentDerivations)
        signIn = SignIn(gate: gate, configuration: configuration, derivations: derivations)
        desk = CirculationDesk(gate: gate, configuration: configuration, derivations: derivations)
        selfService = PatronSelfService(gate: gate, configuration: configuration, derivations: derivations)
        administration = StaffAdministration(gate: gate)
        oversight = Oversight(gate: gate)
        backups = Backups(gate: gate)
        legalOrders = LegalOrders(gate: gate)
        retention = Retention(gate: gate, lock: directory.appendingPathComponent("retention.lock"))
        maintenance = VaultMaintenance(storage: storage, recordSets: ring.recordSet, staffSeals: ring.staffSeal, interval: configuration.maintenanceInterval)
        auditWatch = AuditWatch(gate: gate, interval: configuration.auditCheckInterval)
    }

    /// Creates a new vault folder with a fresh master key and a first admin, whose token is
    /// returned once and never stored in the clear.
    ///
    /// With `.keyFile`, the key file is created (mode 0600) at that path; with `.passphrase`, the
    /// master key is derived with Argon2id and a random salt kept in the key store. A vault
    /// created on a clock other than the system clock is marked as a test vault.
    public static func initialize(
        at directory: URL, masterKey source: MasterKeySource, adminName: String, policies: PolicySet,
        configuration: VaultConfiguration = VaultConfiguration()
    ) async throws(VaultError) -> (vault: Vault, adminToken: IssuedToken) {
        try await initialize(at: directory, masterKey: source, adminName: adminName, policies: policies, configuration: configuration, storage: .embedded)
    }

    /// The same with the stores elsewhere (PostgreSQL): the folder then holds the key file and
    /// the host's locks, and the stores' own `open` refuses databases that already hold a vault.
    package static func initialize(
        at directory: URL, masterKey source: MasterKeySource, adminName: String, policies: PolicySet,
        configuration: VaultConfiguration, storage storageSource: VaultStorageSource
    ) async throws(VaultError) -> (vault: Vault, adminToken: IssuedToken) {
        let adminName = try FieldRules.accountName(adminName)
        if case .embedded = storageSource, SQLiteStorage.exists(in: directory) {
            throw VaultError(.alreadyInitialized, "a vault already exists at \(directory.path)")
        }
        let fm = FileManager.default
        var createdDirectory = false
        if !fm.fileExists(atPath: directory.path) {
            do {
                try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .storage("the vault folder \(directory.path) could not be created")
            }
            createdDirectory = true
        }
        var createdKeyFile: URL?
        var storage: VaultStorage?
        do {
            let derivations = KeyDerivationQueue(limit: 1)
            let kek: SymmetricKey
            let salt: [UInt8]?
            let sourceName: String
            switch source {
            case .keyFile(let url):
                kek = try KeyFile.create(at: url)
                createdKeyFile = url
                salt = nil
                sourceName = "key-file"
            case .passphrase(let passphrase):
                try FieldRules.passphrase(passphrase)
                let newSalt = SecureRandom.bytes(Argon2id.saltByteCount)
                kek = try await stretch(passphrase, salt: newSalt, limits: configuration.passphraseLimits, on: derivations)
                salt = newSalt
                sourceName = "passphrase"
            }
            let lock = try VaultLock(in: directory, exclusive: false)
            let opened = try storageSource.open(directory: directory, mode: .create)
            storage = opened
            let ring: KeyRing
            do {
                ring = try await KeyRing.create(
                    kek: kek, source: sourceName, salt: salt, fixedClock: !(configuration.clock is SystemClock), in: opened.keys)
            } catch {
                throw Gate.vaultError(error)
            }
            let vault = Vault(directory: directory, storage: opened, ring: ring, policies: policies, configuration: configuration, lock: lock)
            let token = try await vault.administration.createFirstAdmin(name: adminName)
            return (vault, token)
        } catch {
            await storage?.close()
            storageSource.remove(directory: directory)
            if let createdKeyFile { try? fm.removeItem(at: createdKeyFile) }
            if createdDirectory { try? fm.removeItem(at: directory) }
            throw Gate.vaultError(error)
        }
    }

    /// Opens an existing vault. A wrong key file or passphrase is refused before anything is
    /// read, a fixed clock is refused unless the vault was created on one, and deletions
    /// interrupted by a crash are finished.
    public static func open(
        at directory: URL, masterKey source: MasterKeySource, policies: PolicySet,
        configuration: VaultConfiguration = VaultConfiguration()
    ) async throws(VaultError) -> Vault {
        try await open(at: directory, masterKey: source, policies: policies, configuration: configuration, storage: .embedded)
    }

    /// The same with the stores elsewhere (PostgreSQL), the folder holding the key file and locks.
    package static func open(
        at directory: URL, masterKey source: MasterKeySource, policies: PolicySet, configuration: VaultConfiguration, storage storageSource: VaultStorageSource
    ) async throws(VaultError) -> Vault {
        if case .embedded = storageSource, !SQLiteStorage.exists(in: directory) { throw VaultError(.notInitialized, "no vault at \(directory.path)") }
        let lock = try VaultLock(in: directory, exclusive: false)
        return try await open(
            directory: directory, storage: storageSource.open(directory: directory, mode: .shared), masterKey: source, policies: policies,
            configuration: configuration, lock: lock)
    }

    /// Opens the vault folder for an operation that needs it to itself (a key rotation): refused
    /// while any other process has it open, and, with `resumingRotation`, opened although a
    /// master key rotation is recorded.
    ///
    /// On stores elsewhere (PostgreSQL) the folder's lock keeps out this host's processes and
    /// the stores' own claim every other host's.
    static func openAlone(
        at directory: URL, masterKey source: MasterKeySource, policies: PolicySet, configuration: VaultConfiguration, storage storageSource: VaultStorageSource,
        resumingRotation: Bool = false
    ) async throws(VaultError) -> Vault {
        if case .embedded = storageSource, !SQLiteStorage.exists(in: directory) { throw VaultError(.notInitialized, "no vault at \(directory.path)") }
        let lock = try VaultLock(in: directory, exclusive: true)
        return try await open(
            directory: directory, storage: storageSource.open(directory: directory, mode: .exclusive), masterKey: source, policies: policies,
            configuration: configuration, lock: lock, resumingRotation: resumingRotation)
    }

    /// Opens a vault over given stores: the seam a second backend, or a test's failing store,
    /// plugs into. Refused while a master key rotation is recorded, unless the caller is that
    /// rotation (`resumingRotation`): new patron keys would be wrapped under the old version.
    static func open(
        directory: URL, storage: VaultStorage, masterKey source: MasterKeySource, policies: PolicySet, configuration: VaultConfiguration,
        lock: VaultLock? = nil, resumingRotation: Bool = false
    ) async throws(VaultError) -> Vault {
        do {
            let metadata = try await storage.keys.metadata()
            if !resumingRotation, let target = KeyRing.rotationTarget(in: metadata) {
                throw VaultError(
                    .rotationInProgress,
                    "a rotation of the master key to version \(target) was interrupted; the vault opens again once it is finished with the same new key")
            }
            let kek = try await masterKey(source, metadata: metadata, configuration: configuration)
            let ring = try await KeyRing.open(kek: kek, metadata: metadata, in: storage.keys)
            if !(configuration.clock is SystemClock), !ring.acceptsFixedClock {
                throw VaultError(
                    .clockRefused,
                    "this vault runs on the real clock; a fixed clock is accepted only by a vault created on one (tests and demos)")
            }
            let vault = Vault(directory: directory, storage: storage, ring: ring, policies: policies, configuration: configuration, lock: lock)
            if ring.predatesRecordSets { try await storage.upgradeRecordSets(ring: ring) }
            // A crash between the two files only delays a shred or a settle, never loses it, and
            // leaves at worst keys without records, removed here.
            _ = try? await storage.finishShreds(checking: ring.recordSet)
            _ = try? await storage.sweepOrphanKeys()
            _ = try? await storage.settleLeftovers(checking: ring.recordSet)
            _ = try? await storage.sealRevocations(with: ring.staffSeal)
            return vault
        } catch {
            await storage.close()
            throw Gate.vaultError(error)
        }
    }

    /// The master key `source` gives for a vault with this metadata, refused when the vault is
    /// protected the other way.
    static func masterKey(_ source: MasterKeySource, metadata: [String: [UInt8]], configuration: VaultConfiguration) async throws(VaultError) -> SymmetricKey {
        let meta = try KeyRing.keySource(in: metadata)
        switch source {
        case .keyFile(let url):
            guard meta.source == "key-file" else {
                throw VaultError(.wrongMasterKey, "this vault is protected by a passphrase, not a key file")
            }
            return try KeyFile.read(at: url)
        case .passphrase(let passphrase):
            guard meta.source == "passphrase", let salt = meta.salt else {
                throw VaultError(.wrongMasterKey, "this vault is protected by a key file, not a passphrase")
            }
            return try await stretch(passphrase, salt: salt, limits: configuration.passphraseLimits, on: KeyDerivationQueue(limit: 1))
        }
    }

    /// Loads and validates a policy folder; a vault never opens with rules it cannot read, and
    /// the error points at the file, line and column.
    public static func loadPolicies(from directory: URL) throws(VaultError) -> PolicySet {
        let set: PolicySet
        do {
            set = try PolicySet.load(directory: directory)
        } catch {
            throw VaultError.policy(error.description)
        }
        try ViewFields.check(set.schema)
        return set
    }

    /// Finishes queued shreds and closes the stores; a long-lived process runs `maintenance`
    /// as a service for the rest (journal residue, checkpoints).
    public func close() async {
        _ = try? await gate.storage.finishShreds(checking: gate.ring.recordSet)
        await gate.storage.close()
        lock?.release()
    }

    static func stretch(_ passphrase: [UInt8], salt: [UInt8], limits: Argon2Limits, on queue: KeyDerivationQueue) async throws(VaultError) -> SymmetricKey {
        do {
            return try await queue.run { try Argon2id.deriveKey(from: passphrase, salt: salt, limits: limits) }
        } catch {
            throw VaultError.storage("the passphrase could not be stretched (not enough memory for Argon2id)")
        }
    }
}
