import Foundation
import PatronVaultCore
import PostgresNIO
import Synchronization

/// Where a consortium's vault lives on PostgreSQL: the records database and the key database,
/// which must be two databases (they may be on two servers), and how many reader connections
/// each daemon keeps to the records database.
package struct PostgresStorageConfiguration: Sendable {
    package var records: PostgresLocation
    package var keys: PostgresLocation
    package var readers: Int
    /// The longest a shredded key's bytes wait in the key tables' freed space before the
    /// maintenance pass compacts them (an erasure compacts at once).
    package var keyCompactionInterval: Duration

    package init(records: PostgresLocation, keys: PostgresLocation, readers: Int = 4, keyCompactionInterval: Duration = .seconds(600)) {
        self.records = records
        self.keys = keys
        self.readers = readers
        self.keyCompactionInterval = keyCompactionInterval
    }
}

/// Opens the two stores of a vault on PostgreSQL.
package enum PostgresStorage {
    /// Opens (or, with `create`, makes) both databases and checks they belong together: each is
    /// marked with its role and the vault's id, so two URLs naming one database, a key database
    /// of another vault, a schema newer than this binary and a read-only server are refused
    /// before anything is written. A creation that fails half-way takes back what it made.
    package static func open(_ configuration: PostgresStorageConfiguration, create: Bool) throws -> VaultStorage {
        try open(configuration, create: create, created: nil)
    }

    /// The same, noting a new vault's id in `created`, which `remove` needs to take back only
    /// what this creation made.
    package static func open(_ configuration: PostgresStorageConfiguration, create: Bool, created: PostgresCreation?) throws -> VaultStorage {
        try open(configuration, mode: create ? .create : .shared, created: created)
    }

    /// The same, claiming the vault on the records server as `mode` says (`PostgresClaim`):
    /// shared by every process that opens it, exclusive for a key rotation, refused with one
    /// line when the other kind is held.
    package static func open(_ configuration: PostgresStorageConfiguration, mode: VaultStorageMode, created: PostgresCreation?) throws -> VaultStorage {
        let create = mode == .create
        guard !configuration.records.namesSameDatabase(as: configuration.keys) else {
            throw VaultError(
                .invalidInput,
                "the records URL and the keys URL name the same database (\(configuration.records)); the erasure rule needs the keys in a database of their own")
        }
        let probe = PostgresLink(configuration.records, name: PostgresSchema.Role.records.storeName)
        defer { probe.close() }
        let vaultID: [UInt8] = try probe.withSession { session in
            if create {
                let id = (0..<16).map { _ in UInt8.random(in: 0...255) }
                try PostgresSchema.create(.records, tables: PostgresSchema.recordsTables, vaultID: id, in: session, location: configuration.records)
                return id
            }
            let id = try PostgresSchema.check(.records, in: session, location: configuration.records)
            try PostgresSchema.checkWritable(.records, in: session, location: configuration.records)
            try PostgresSchema.upgrade(.records, claim: PostgresClaim.number(vaultID: id), in: session, location: configuration.records)
            return id
        }
        let keys: PostgresKeyStore
        do {
            keys = try PostgresKeyStore.open(configuration.keys, create: create, vaultID: vaultID, compactionInterval: configuration.keyCompactionInterval, readers: configuration.readers)
        } catch {
            if create { remove(configuration, vaultID: vaultID) }
            throw error
        }
        let number = PostgresClaim.number(vaultID: vaultID)
        let records = PostgresRecordStore(
            location: configuration.records, readers: configuration.readers, claim: mode == .exclusive ? .exclusive(number) : .shared(number))
        do {
            // The claim is taken now, so a vault being rotated is refused before anything else.
            try records.writer.withSession { _ in }
        } catch {
            records.readers.close()
            records.writer.close()
            keys.closeLinks()
            if create { remove(configuration, vaultID: vaultID) }
            throw error
        }
        created?.note(vaultID)
        return VaultStorage(records: records, keys: keys)
    }

    /// Drops what a failed `init` made, so nothing half-made stays behind: only PatronVault's own
    /// tables, and only in a database marked with the vault id that creation gave it; a database
    /// of another vault named by mistake is never touched.
    package static func remove(_ configuration: PostgresStorageConfiguration, vaultID: [UInt8]) {
        for (location, role, tables) in [
            (configuration.records, PostgresSchema.Role.records, PostgresSchema.recordsTableNames),
            (configuration.keys, PostgresSchema.Role.keys, PostgresSchema.keysTableNames),
        ] {
            let link = PostgresLink(location, name: role.storeName)
            defer { link.close() }
            try? link.withSession { session in
                try session.transaction { session in
                    guard let marked = try? PostgresSchema.check(role, in: session, location: location), marked == vaultID else { return }
                    let list = (tables + ["patronvault_database"]).joined(separator: ", ")
                    try session.execute(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(list)"))
                }
            }
        }
    }

    /// The stores as a vault's storage source: what `init` makes and, if it fails later, takes back.
    package static func source(_ configuration: PostgresStorageConfiguration) -> VaultStorageSource {
        let created = PostgresCreation()
        return .external(
            open: { mode in try open(configuration, mode: mode, created: created) },
            remove: { if let id = created.vaultID { remove(configuration, vaultID: id) } })
    }
}

/// The id of the vault one `init` made, once it has made it.
package final class PostgresCreation: Sendable {
    private let id = Mutex<[UInt8]?>(nil)

    package init() {}

    func note(_ vaultID: [UInt8]) { id.withLock { $0 = vaultID } }

    var vaultID: [UInt8]? { id.withLock { $0 } }
}
