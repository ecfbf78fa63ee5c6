import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultPolicy
import PatronVaultPostgres

/// Where a front end finds the vault, its master key and its policies: options, then
/// environment variables, then defaults. The CLI's direct mode and the daemon read them alike,
/// so one vault folder means the same thing to both.
public struct VaultLocation: ParsableArguments {
    @Option(name: .long, help: Help.vault)
    public var vault: String?

    @Option(name: .long, help: Help.keyFile)
    public var keyFile: String?

    @Option(name: .long, help: Help.policies)
    public var policies: String?

    @Option(name: .long, help: Help.storage)
    public var storage: StorageKind?

    @Option(name: .long, help: Help.recordsUrl)
    public var recordsUrl: String?

    @Option(name: .long, help: Help.keysUrl)
    public var keysUrl: String?

    @Option(name: .long, help: Help.recordsPasswordFile)
    public var recordsPasswordFile: String?

    @Option(name: .long, help: Help.keysPasswordFile)
    public var keysPasswordFile: String?

    @Option(name: .long, help: Help.readerConnections)
    public var readerConnections: Int?

    @Option(name: .long, help: Help.keyCompactionInterval)
    public var keyCompactionInterval: Int?

    @Option(name: .long, help: Help.answerTimeout)
    public var answerTimeout: Int?

    public init() {}

    /// A location given by options declared elsewhere: the CLI declares these options in its own
    /// group, since each group nested in another multiplies the argument parser's start-up work
    /// in a debug build.
    public init(
        vault: String?, keyFile: String?, policies: String?, storage: StorageKind?, recordsUrl: String?, keysUrl: String?, recordsPasswordFile: String?,
        keysPasswordFile: String?, readerConnections: Int?, keyCompactionInterval: Int?, answerTimeout: Int?
    ) {
        self.vault = vault
        self.keyFile = keyFile
        self.policies = policies
        self.storage = storage
        self.recordsUrl = recordsUrl
        self.keysUrl = keysUrl
        self.recordsPasswordFile = recordsPasswordFile
        self.keysPasswordFile = keysPasswordFile
        self.readerConnections = readerConnections
        self.keyCompactionInterval = keyCompactionInterval
        self.answerTimeout = answerTimeout
    }

    /// The options' help, shared by every front end that declares them.
    public enum Help {
        public static let vault: ArgumentHelp = "The vault folder (default: $PATRONVAULT_HOME or ./vault)."
        public static let keyFile: ArgumentHelp = "The master key file (default: $PATRONVAULT_KEY_FILE or VAULT/master.key)."
        public static let policies: ArgumentHelp = "The policy folder (default: $PATRONVAULT_POLICIES or ./Policies)."
        public static let storage: ArgumentHelp = "Where records and keys are kept: sqlite (two files in the vault folder, the default) or postgres (--records-url and --keys-url)."
        public static let recordsUrl: ArgumentHelp = "With --storage postgres: the records database, postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|verify-full&sslrootcert=FILE]."
        public static let keysUrl: ArgumentHelp = "With --storage postgres: the key database, which must be another database than the records one (it may be on another server)."
        public static let recordsPasswordFile: ArgumentHelp = "A file (mode 0600) holding the records database's password (default: $PATRONVAULT_RECORDS_PASSWORD)."
        public static let keysPasswordFile: ArgumentHelp = "A file (mode 0600) holding the key database's password (default: $PATRONVAULT_KEYS_PASSWORD)."
        public static let readerConnections: ArgumentHelp = "With --storage postgres: connections to the records database for reads, per process (1 to 64, default 4)."
        public static let keyCompactionInterval: ArgumentHelp = "With --storage postgres: the most seconds a shredded key's bytes may wait in the key tables' freed space for compaction (60 to 86400, default 600)."
        public static let answerTimeout: ArgumentHelp = "With --storage postgres: the most seconds a statement may go unanswered before its connection is closed and the request fails (1 to 3600, default 30); VACUUM is never cut short."
    }

    /// The names a configuration file may set for the vault's location and storage.
    public static let configurable: Set<String> = [
        "vault", "key-file", "policies", "storage", "records-url", "keys-url", "records-password-file", "keys-password-file", "reader-connections",
        "key-compaction-interval", "answer-timeout",
    ]

    /// Where the vault's records and keys are.
    public enum StorageKind: String, ExpressibleByArgument, Sendable, CaseIterable {
        case sqlite
        case postgres
    }

    public var policyDirectory: URL { Environment.policyDirectory(policies) }

    public var directory: URL {
        URL(fileURLWithPath: vault ?? Environment.value("PATRONVAULT_HOME") ?? "vault", isDirectory: true)
    }

    public var keyFileURL: URL {
        if let keyFile { return URL(fileURLWithPath: keyFile) }
        if let path = Environment.value("PATRONVAULT_KEY_FILE") { return URL(fileURLWithPath: path) }
        return directory.appendingPathComponent(Vault.defaultKeyFileName)
    }

    /// A passphrase from `PATRONVAULT_PASSPHRASE` wins; otherwise the key file is used.
    public var masterKey: MasterKeySource {
        if let passphrase = Environment.value("PATRONVAULT_PASSPHRASE") {
            return .passphrase(Array(passphrase.utf8))
        }
        return .keyFile(keyFileURL)
    }

    /// The vault's settings for `frontEnd`; `PATRONVAULT_NOW` fixes the clock, which only a vault
    /// made with a fixed clock (a test vault) accepts.
    public func configuration(for frontEnd: FrontEnd) throws -> VaultConfiguration {
        var configuration = VaultConfiguration()
        configuration.frontEnd = frontEnd
        if let now = Environment.value("PATRONVAULT_NOW") {
            guard let instant = ISO8601DateFormatter().date(from: now) else {
                throw ValidationError("PATRONVAULT_NOW is not an ISO 8601 time such as 2026-11-22T10:00:00Z")
            }
            configuration.clock = FixedClock(instant)
        }
        return configuration
    }

    /// Loads the policies and opens the vault, with the front end's own settings applied.
    public func open(for frontEnd: FrontEnd, adjusting adjust: (inout VaultConfiguration) -> Void = { _ in }) async throws -> Vault {
        let policies = try Vault.loadPolicies(from: policyDirectory)
        var configuration = try configuration(for: frontEnd)
        adjust(&configuration)
        return try await Vault.open(at: directory, masterKey: masterKey, policies: policies, configuration: configuration, storage: try storageSource())
    }

    /// Creates the vault where the options say: the folder (key file, locks) and its stores.
    public func initialize(
        masterKey source: MasterKeySource, adminName: String, policies: PolicySet, configuration: VaultConfiguration
    ) async throws -> (vault: Vault, adminToken: IssuedToken) {
        try await Vault.initialize(
            at: directory, masterKey: source, adminName: adminName, policies: policies, configuration: configuration, storage: try storageSource())
    }

    /// Takes each vault setting the command line left unset from `file`.
    public mutating func fill(from file: ConfigurationFile) throws {
        for setting in file.settings where Self.configurable.contains(setting.name) {
            let place = "\(file.path):\(setting.line)"
            switch setting.name {
            case "vault": vault = vault ?? setting.value
            case "key-file": keyFile = keyFile ?? setting.value
            case "policies": policies = policies ?? setting.value
            case "storage":
                guard let kind = StorageKind(rawValue: setting.value) else { throw ValidationError("\(place): storage is sqlite or postgres") }
                storage = storage ?? kind
            case "records-url": recordsUrl = recordsUrl ?? setting.value
            case "keys-url": keysUrl = keysUrl ?? setting.value
            case "records-password-file": recordsPasswordFile = recordsPasswordFile ?? setting.value
            case "keys-password-file": keysPasswordFile = keysPasswordFile ?? setting.value
            case "reader-connections":
                guard let count = Int(setting.value) else { throw ValidationError("\(place): reader-connections is a number") }
                readerConnections = readerConnections ?? count
            case "key-compaction-interval":
                guard let seconds = Int(setting.value) else { throw ValidationError("\(place): key-compaction-interval is a number of seconds") }
                keyCompactionInterval = keyCompactionInterval ?? seconds
            case "answer-timeout":
                guard let seconds = Int(setting.value) else { throw ValidationError("\(place): answer-timeout is a number of seconds") }
                answerTimeout = answerTimeout ?? seconds
            default: break
            }
        }
    }

    /// The stores the options name: the vault folder's SQLite files, or the two PostgreSQL
    /// databases with their passwords from files or the environment (never the command line).
    package func storageSource() throws -> VaultStorageSource {
        try postgresConfiguration().map(PostgresStorage.source) ?? .embedded
    }

    /// The two PostgreSQL databases the options name, or nil for the vault folder.
    package func postgresConfiguration() throws -> PostgresStorageConfiguration? {
        let postgresOptions = [recordsUrl, keysUrl, recordsPasswordFile, keysPasswordFile].contains { $0 != nil } || readerConnections != nil
            || keyCompactionInterval != nil || answerTimeout != nil
        guard storage == .postgres else {
            if postgresOptions {
                throw ValidationError("--records-url, --keys-url, the password files, --reader-connections, --key-compaction-interval and --answer-timeout need --storage postgres")
            }
            return nil
        }
        guard let recordsUrl, let keysUrl else { throw ValidationError("--storage postgres needs --records-url and --keys-url") }
        var records = try PostgresLocation(url: recordsUrl)
        var keys = try PostgresLocation(url: keysUrl)
        records.password = try Self.password(file: recordsPasswordFile, environment: "PATRONVAULT_RECORDS_PASSWORD")
        keys.password = try Self.password(file: keysPasswordFile, environment: "PATRONVAULT_KEYS_PASSWORD")
        let readers = readerConnections ?? 4
        guard (1...64).contains(readers) else { throw ValidationError("--reader-connections must be between 1 and 64") }
        let compaction = keyCompactionInterval ?? 600
        guard (60...86_400).contains(compaction) else { throw ValidationError("--key-compaction-interval must be between 60 and 86400 seconds") }
        let timeout = answerTimeout ?? 30
        guard (1...3_600).contains(timeout) else { throw ValidationError("--answer-timeout must be between 1 and 3600 seconds") }
        (records.answerTimeout, keys.answerTimeout) = (.seconds(timeout), .seconds(timeout))
        return PostgresStorageConfiguration(records: records, keys: keys, readers: readers, keyCompactionInterval: .seconds(compaction))
    }

    /// A password from a 0600 file (refused if group or others may read it), else from the
    /// environment variable, else none (a server that trusts the connection).
    package static func password(file: String?, environment name: String) throws -> String? {
        guard let file else { return Environment.value(name) }
        let checked = try CheckedFile(path: file, what: "the password file")
        guard checked.mode & 0o077 == 0 else {
            throw VaultError(.keyFilePermissions, "the password file \(file) is readable by group or others (mode \(checked.octalMode)); run chmod 600 on it")
        }
        guard let text = String(validating: checked.data, as: UTF8.self)?.trimmingCharacters(in: .newlines), !text.isEmpty, !text.contains("\n") else {
            throw ValidationError("the password file \(file) must hold the password alone on one line")
        }
        return text
    }
}

/// The environment variables the front ends read; an empty one counts as unset.
public enum Environment {
    /// The policy folder: the option if given, else `$PATRONVAULT_POLICIES`, else `./Policies`.
    public static func policyDirectory(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? value("PATRONVAULT_POLICIES") ?? "Policies", isDirectory: true)
    }

    public static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
