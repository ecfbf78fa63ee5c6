import Foundation
import GRDB
import PatronVaultCrypto
import PatronVaultPolicy
import PatronVaultPostgres
import Testing
@testable import PatronVaultCore

/// A vault in a temporary folder with the shipped policies, cheap Argon2id limits and a fixed
/// clock (so the folder may be opened again on another fixed clock).
struct VaultFixture {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shippedPolicies = try! PolicySet.load(directory: repository.appendingPathComponent("Policies"))
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    let directory: URL
    let vault: Vault
    let admin: Principal
    let configuration: VaultConfiguration
    let backend: FixtureBackend

    var keyFile: URL { directory.appendingPathComponent(Vault.defaultKeyFileName) }

    /// Test settings: cheap Argon2id and the given clock.
    static func configuration(clock: any VaultClock = FixedClock(start)) -> VaultConfiguration {
        var configuration = VaultConfiguration()
        configuration.clock = clock
        configuration.pinLimits = Argon2Limits(operations: 1, memoryBytes: 8192)
        configuration.passphraseLimits = Argon2Limits(operations: 1, memoryBytes: 8192)
        return configuration
    }

    static func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("pv-core-\(UUID().uuidString)")
    }

    static func make(now: Date = start, backend: FixtureBackend = .sqlite) async throws -> VaultFixture {
        let directory = temporaryFolder()
        let configuration = configuration(clock: FixedClock(now))
        let backend = try backend.fresh()
        do {
            let (vault, token) = try await Vault.initialize(
                at: directory, masterKey: .keyFile(directory.appendingPathComponent(Vault.defaultKeyFileName)), adminName: "admin",
                policies: shippedPolicies, configuration: configuration, storage: backend.source)
            let admin = try await vault.signIn.staff(token: token.token)
            return VaultFixture(directory: directory, vault: vault, admin: admin, configuration: configuration, backend: backend)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            backend.drop()
            throw error
        }
    }

    /// Runs `body` on a fresh fixture, then closes its vault and removes its folder, whether
    /// `body` succeeded or not.
    static func with<T>(now: Date = start, backend: FixtureBackend = .sqlite, _ body: (VaultFixture) async throws -> T) async throws -> T {
        let fixture = try await make(now: now, backend: backend)
        do {
            let result = try await body(fixture)
            await fixture.remove()
            return result
        } catch {
            await fixture.remove()
            throw error
        }
    }

    /// The same folder opened again, under other rules or on another fixed clock. The caller
    /// closes the vault it gets back.
    func reopened(with policies: PolicySet = shippedPolicies, clock: (any VaultClock)? = nil) async throws -> Vault {
        var configuration = configuration
        if let clock { configuration.clock = clock }
        return try await Vault.open(at: directory, masterKey: .keyFile(keyFile), policies: policies, configuration: configuration, storage: backend.source)
    }

    /// Closes the fixture's vault (closing twice is harmless) and removes the folder (and the
    /// PostgreSQL databases).
    func remove() async {
        await vault.close()
        try? FileManager.default.removeItem(at: directory)
        backend.drop()
    }

    /// Adds a staff account and signs it in.
    func staff(_ name: String, role: StaffRole = .staff, in vault: Vault? = nil) async throws -> Principal {
        let vault = vault ?? self.vault
        let issued = try await vault.administration.addStaff(name: name, role: role, by: admin)
        return try await vault.signIn.staff(token: issued.token)
    }

    /// A read-only GRDB connection to one of the vault's files, apart from the vault's own.
    func database(_ name: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: directory.appendingPathComponent(name).path, configuration: configuration)
    }

    /// One value read from a vault file on a fresh read-only connection.
    func count(_ sql: String, _ arguments: StatementArguments = [], in file: String) throws -> Int {
        let queue = try database(file)
        defer { try? queue.close() }
        return try queue.read { try Int.fetchOne($0, sql: sql, arguments: arguments) } ?? 0
    }

    static func registration(card: String, name: String = "Test Patron", history: HistoryPreference = .discard) -> PatronRegistration {
        PatronRegistration(cardBarcode: card, fullName: name, email: "\(card.lowercased())@example.org", history: history)
    }

    static func pin(_ text: String) -> [UInt8] { Array(text.utf8) }
}

/// Where a fixture's vault keeps its records and keys: the folder's SQLite files, or two new
/// databases on the cluster `Tests/with-postgres` started.
enum FixtureBackend: Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres
    /// A fixture's own pair of databases, dropped with it.
    case postgresPair(PostgresStorageConfiguration, names: [String])

    var testDescription: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres, .postgresPair: "postgres"
        }
    }

    /// SQLite always, PostgreSQL beside a test cluster.
    static var available: [FixtureBackend] { server == nil ? [.sqlite] : [.sqlite, .postgres] }

    static var server: PostgresLocation? { PostgresTestCluster.server }

    /// For PostgreSQL, two new databases for one fixture.
    func fresh() throws -> FixtureBackend {
        guard case .postgres = self else { return self }
        let server = try #require(Self.server)
        let name = "pv_core_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let names = [name + "_records", name + "_keys"]
        for database in names { try PostgresDatabases.create(database, on: server) }
        return .postgresPair(PostgresStorageConfiguration(records: server.with(database: names[0]), keys: server.with(database: names[1])), names: names)
    }

    var source: VaultStorageSource {
        switch self {
        case .sqlite, .postgres: .embedded
        case .postgresPair(let configuration, _): PostgresStorage.source(configuration)
        }
    }

    func drop() {
        guard case .postgresPair(_, let names) = self, let server = Self.server else { return }
        for database in names { try? PostgresDatabases.drop(database, on: server) }
    }
}
