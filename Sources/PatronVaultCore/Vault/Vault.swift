import Foundation
import GRDB
import PatronVaultCrypto
import PatronVaultPolicy
import PatronVaultAudit

/// An open vault: the two SQLite files, the unwrapped system keys and the policy set. Every
/// public operation takes the authenticated principal and asks the policy engine (in
/// `Vault+Authorization.swift`) before it touches a patron's data; front ends never see keys or SQL.
public final class Vault: Sendable {
    /// The file name of the master key `init` creates inside the vault folder by default.
    public static let defaultKeyFileName = "master.key"

    public let directory: URL
    let storage: VaultStorage
    let keyRing: KeyRing
    let configuration: VaultConfiguration
    /// The rules every access is decided by, loaded from `Policies/`.
    public let policies: PolicySet
    /// Purposes the schema lists; anything else a person typed is not copied into the audit trail.
    let listedPurposes: Set<String>
    /// Records every access decision in the same transaction as the operation.
    let audit: AuditTrail
    /// Reusable key slots; touched only inside `storage.records` closures, which are serialised.
    let slots: KeySlots

    private init(directory: URL, storage: VaultStorage, keyRing: KeyRing, configuration: VaultConfiguration, policies: PolicySet) throws(VaultError) {
        self.directory = directory
        self.storage = storage
        self.keyRing = keyRing
        self.configuration = configuration
        self.policies = policies
        audit = AuditTrail(
            signingKey: keyRing.auditSigningKey, macKey: keyRing.auditMACKey, checkpointInterval: configuration.auditCheckpointInterval)
        listedPurposes = Set(policies.schema.members(of: "purpose"))
        do { slots = try KeySlots() } catch { throw Vault.secureMemoryFailure }
    }

    static let secureMemoryFailure = VaultError(.storageFailure, "secure memory for keys could not be allocated (raise the mlock limit)")

    /// Creates a new vault folder with a fresh master key and a first admin, whose token is
    /// returned once and never stored in the clear.
    ///
    /// With `.keyFile`, the key file is created (mode 0600) at that path; with `.passphrase`, the
    /// master key is derived with Argon2id and a random salt kept in `keys.db`.
    public static func initialize(
        at directory: URL, masterKey source: MasterKeySource, adminName: String, policies: PolicySet,
        configuration: VaultConfiguration = VaultConfiguration()
    ) throws(VaultError) -> (vault: Vault, adminToken: IssuedToken) {
        let adminName = try FieldRules.accountName(adminName)
        let fm = FileManager.default
        let recordsPath = directory.appendingPathComponent(VaultStorage.recordsFileName).path
        let keysPath = directory.appendingPathComponent(VaultStorage.keysFileName).path
        if fm.fileExists(atPath: recordsPath) || fm.fileExists(atPath: keysPath) {
            throw VaultError(.alreadyInitialized, "a vault already exists at \(directory.path)")
        }
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
        func cleanUp() {
            for suffix in ["", "-wal", "-shm"] {
                try? fm.removeItem(atPath: recordsPath + suffix)
                try? fm.removeItem(atPath: keysPath + suffix)
            }
            if let createdKeyFile { try? fm.removeItem(at: createdKeyFile) }
            if createdDirectory { try? fm.removeItem(at: directory) }
        }
        do {
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
                do {
                    kek = try Argon2id.deriveKey(from: passphrase, salt: newSalt, limits: configuration.passphraseLimits)
                } catch {
                    throw VaultError.storage("the passphrase could not be stretched (not enough memory for Argon2id)")
                }
                salt = newSalt
                sourceName = "passphrase"
            }
            let storage = try VaultStorage.open(directory: directory, create: true)
            let keyRing: KeyRing
            do {
                keyRing = try storage.keys.write { db in try KeyRing.create(kek: kek, source: sourceName, salt: salt, in: db) }
            } catch {
                throw VaultStorage.translate(error)
            }
            let vault = try Vault(directory: directory, storage: storage, keyRing: keyRing, configuration: configuration, policies: policies)
            let token = try vault.createFirstAdmin(name: adminName)
            return (vault, token)
        } catch let error as VaultError {
            cleanUp()
            throw error
        } catch {
            cleanUp()
            throw VaultStorage.translate(error)
        }
    }

    /// Opens an existing vault. A wrong key file or passphrase is refused before anything is
    /// read, and deletions interrupted by a crash are finished.
    public static func open(
        at directory: URL, masterKey source: MasterKeySource, policies: PolicySet,
        configuration: VaultConfiguration = VaultConfiguration()
    ) throws(VaultError) -> Vault {
        let storage = try VaultStorage.open(directory: directory, create: false)
        let keyRing: KeyRing
        do {
            let meta = try VaultStorage.read(storage.keys) { db in try KeyRing.keySource(in: db) }
            let kek: SymmetricKey
            switch source {
            case .keyFile(let url):
                guard meta.source == "key-file" else {
                    throw VaultError(.wrongMasterKey, "this vault is protected by a passphrase, not a key file")
                }
                kek = try KeyFile.read(at: url)
            case .passphrase(let passphrase):
                guard meta.source == "passphrase", let salt = meta.salt else {
                    throw VaultError(.wrongMasterKey, "this vault is protected by a key file, not a passphrase")
                }
                do {
                    kek = try Argon2id.deriveKey(from: passphrase, salt: salt, limits: configuration.passphraseLimits)
                } catch {
                    throw VaultError.storage("the passphrase could not be stretched (not enough memory for Argon2id)")
                }
            }
            keyRing = try VaultStorage.read(storage.keys) { db in try KeyRing.open(kek: kek, in: db) }
        } catch {
            throw VaultStorage.translate(error)
        }
        let vault = try Vault(directory: directory, storage: storage, keyRing: keyRing, configuration: configuration, policies: policies)
        try vault.finishPendingShreds()
        return vault
    }

    /// Loads and validates a policy folder; a vault never opens with rules it cannot read, and
    /// the error points at the file, line and column.
    public static func loadPolicies(from directory: URL) throws(VaultError) -> PolicySet {
        do {
            return try PolicySet.load(directory: directory)
        } catch {
            throw VaultError.policy(error.description)
        }
    }

    /// The time every operation records, from the injected clock.
    var now: Date { configuration.clock.now() }

    /// Runs storage work and turns any failure into a `VaultError` sentence.
    func run<T>(_ body: () throws -> T) throws(VaultError) -> T {
        do {
            return try body()
        } catch {
            throw VaultStorage.translate(error)
        }
    }
}
