import Foundation
import PatronVaultCore
import PatronVaultPostgres

/// The PostgreSQL pair a migration copies the vault folder into.
package struct PostgresTarget: Sendable {
    package let configuration: PostgresStorageConfiguration

    package init(records: PostgresLocation, keys: PostgresLocation) {
        configuration = PostgresStorageConfiguration(records: records, keys: keys)
    }

    package init(_ configuration: PostgresStorageConfiguration) {
        self.configuration = configuration
    }

    package static func location(_ url: String) throws -> PostgresLocation {
        try PostgresLocation(url: url)
    }

    /// The rows each table of the folder's files holds.
    package static func counts(in directory: URL) throws -> [(table: String, rows: Int)] {
        try PostgresMigration.counts(in: directory)
    }

    /// Copies the folder into the pair while holding the folder alone: no daemon or command may
    /// change it meanwhile. The pair's checks (two databases, both empty) are the stores' own.
    package func copy(from directory: URL) async throws -> [(table: String, rows: Int)] {
        let lock = try VaultLock(in: directory, exclusive: true)
        defer { lock.release() }
        return try await PostgresMigration.copy(from: directory, to: configuration)
    }

    /// A vault's key database written out as a `keys.db` file (`backup restore --keys-from`).
    package static func copyKeys(from location: PostgresLocation, to path: String) async throws {
        try await PostgresKeyStore.copyKeys(from: location, to: path)
    }

    /// The pair as a vault's stores.
    package var source: VaultStorageSource {
        PostgresStorage.source(configuration)
    }
}
