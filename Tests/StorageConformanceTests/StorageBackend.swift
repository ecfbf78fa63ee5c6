import Foundation
import PatronVaultCore
import PatronVaultCrypto
import PatronVaultPostgres
import Testing

/// The backends every conformance test runs on. PostgreSQL is there when `Tests/with-postgres`
/// (README's test command, and CI) has started a throw-away cluster.
enum StorageBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The backends this run has: SQLite always, PostgreSQL beside a test cluster.
    static var available: [StorageBackend] {
        PostgresTestServer.location == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// A new, empty key store of this backend, closed and removed after `body`.
    func withKeyStore<T>(_ body: (any KeyStore, HeldSnapshot) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pv-conformance-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let storage = try SQLiteStorage.open(directory: folder, create: true)
            let path = folder.appendingPathComponent(SQLiteStorage.keysFileName).path
            do {
                let result = try await body(storage.keys, .sqlite(path: path))
                await storage.close()
                return result
            } catch {
                await storage.close()
                throw error
            }
        case .postgres:
            let server = try #require(PostgresTestServer.location)
            let name = "pv_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased())"
            try PostgresDatabases.create(name, on: server)
            defer { try? PostgresDatabases.drop(name, on: server) }
            let store = try PostgresKeyStore.open(server.with(database: name), create: true, vaultID: SecureRandom.bytes(16))
            do {
                let result = try await body(store, .postgres(server.with(database: name)))
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        }
    }
}

/// Where a test can hold a reader's snapshot open on a key store, as an outside process would.
enum HeldSnapshot: Sendable {
    case sqlite(path: String)
    case postgres(PostgresLocation)
}

/// The cluster `Tests/with-postgres` started, from its environment variables.
enum PostgresTestServer {
    static var location: PostgresLocation? { PostgresTestCluster.server }
}
