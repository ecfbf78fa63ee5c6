import Foundation
import PatronVaultCore
import PatronVaultPostgres

/// The PostgreSQL pair a migration copies the vault folder into.
package struct PostgresTarget: Sendable {
    package let configuration: PostgresStorageConfiguration

    package init(records: PostgresLocation, keys: PostgresLocation) {
        configuration = PostgresStorageConfiguration(records: records, keys: keys)
    }

    package static func location(_ url: String) throws -> PostgresLocation {
        try PostgresLocation(url: url)
    }

    /// The rows each table of the folder's files holds.
    package static func counts(in directory: URL) throws -> [(table: String, rows: Int)] {
        try PostgresMigration.counts(in: directory)
    }

    /// Copies the folder into the pair while holding the folder alone: no daemon or command may
    /// change it meanwhile.
    package func copy(from directory: URL) async throws -> [(table: String, rows: Int)] {
        guard !configuration.records.namesSameDatabase(as: configuration.keys) else {
            throw VaultError(
                .invalidInput,
                "the records URL and the keys URL name the same database (\(configuration.records)); the erasure rule needs the keys in a database of their own")
        }
        let lock = try VaultLock(in: directory, exclusive: true)
        defer { lock.release() }
        return try await PostgresMigration.copy(from: directory, to: configuration)
    }

    /// The pair as a vault's stores.
    package var source: VaultStorageSource {
        PostgresStorage.source(configuration)
    }
}
