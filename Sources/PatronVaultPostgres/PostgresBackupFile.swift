import Foundation
import GRDB
import PatronVaultCore
import PostgresNIO

/// A PostgreSQL database written out as the embedded vault's SQLite file: the migration's copy
/// run the other way. So a vault on PostgreSQL is backed up into the same signed folder as an
/// embedded one (`records/vault.db`, `keys/keys.db`), which `backup restore` checks and opens
/// without a server, and `migrate --to-postgres` carries back. Rows are copied as stored: sealed
/// values stay sealed, and the audit entries keep their exact text, so the chain verifies.
enum PostgresBackupFile {
    /// Rows fetched from the server at a time, through a cursor: a table is never held whole.
    private static let fetchSize = 2_000

    /// Writes `tables` of `session`'s database (read in the transaction the session has open)
    /// into a new SQLite file at `path`, made by `migrator` as the embedded store makes its own.
    static func write(_ tables: [PostgresMigration.Table], from session: PostgresSession, to path: String, migrator: DatabaseMigrator) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VaultError.storage("the backup file could not be created") }
        close(fd)
        do {
            let copy = try DatabaseQueue(path: path)
            defer { try? copy.close() }
            try migrator.migrate(copy)
            try copy.write { db in
                for table in tables { try self.copy(table, from: session, into: db) }
            }
        } catch is DatabaseError {
            throw VaultError.storage("the backup file could not be written")
        }
    }

    private static func copy(_ table: PostgresMigration.Table, from session: PostgresSession, into db: Database) throws {
        let columns = table.columns.map(\.name).joined(separator: ", ")
        try db.execute(sql: "DELETE FROM \(table.name)")
        let insert = try db.makeStatement(
            sql: "INSERT INTO \(table.name) (\(columns)) VALUES (\(Array(repeating: "?", count: table.columns.count).joined(separator: ", ")))")
        try session.execute(PostgresQuery(unsafeSQL: "DECLARE backup_rows NO SCROLL CURSOR FOR SELECT \(columns) FROM \(table.name) ORDER BY \(table.postgresOrder)"))
        while true {
            let rows = try session.query(PostgresQuery(unsafeSQL: "FETCH FORWARD \(fetchSize) FROM backup_rows"))
            for row in rows {
                let cells = row.makeRandomAccess()
                var values: [(any DatabaseValueConvertible)?] = []
                values.reserveCapacity(table.columns.count)
                for (index, column) in table.columns.enumerated() {
                    guard cells[index].bytes != nil else {
                        values.append(nil)
                        continue
                    }
                    switch column.type {
                    case .bytes: values.append(Data(try cells.bytes(index)))
                    case .integer: values.append(try cells.int64(index))
                    case .boolean: values.append(try cells.bool(index))
                    case .text: values.append(try cells.string(index))
                    }
                }
                try insert.execute(arguments: StatementArguments(values))
            }
            if rows.count < fetchSize { break }
        }
        try session.execute("CLOSE backup_rows")
    }
}

/// One database pinned for a backup: a connection of its own in a REPEATABLE READ READ ONLY
/// transaction whose snapshot is taken when it is made (under the vault's write lock, while no
/// writer can commit), and copied out by `write()` after the lock is released.
final class PostgresBackupSnapshot: BackupSnapshot, @unchecked Sendable {
    private let link: PostgresLink
    private let tables: [PostgresMigration.Table]
    private let path: String
    private let migrator: DatabaseMigrator

    /// Takes the snapshot on `link`, which is new and used by nothing else.
    init(on link: PostgresLink, tables: [PostgresMigration.Table], path: String, migrator: DatabaseMigrator) throws {
        (self.link, self.tables, self.path, self.migrator) = (link, tables, path, migrator)
        do {
            try link.withSession { session in
                // The first statement after BEGIN takes the transaction's snapshot.
                session.sendWithNext("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try session.query("SELECT 1")
            }
        } catch {
            link.closeWithoutWaiting()
            throw error
        }
    }

    func write() async throws {
        defer { link.closeWithoutWaiting() }
        try await link.run { [tables, path, migrator] session in
            try PostgresBackupFile.write(tables, from: session, to: path, migrator: migrator)
            try session.execute("COMMIT")
        }
    }

    func discard() {
        link.closeWithoutWaiting()
    }
}

extension PostgresKeyStore {
    /// The key database at `location` written out as an embedded `keys.db` at `path`, read in one
    /// snapshot: what `backup restore --keys-from` takes on PostgreSQL (the current key store,
    /// with none of the keys destroyed since the backup). Refused unless the database is a
    /// vault's key database.
    package static func copyKeys(from location: PostgresLocation, to path: String) async throws {
        let link = PostgresLink(location, name: PostgresSchema.Role.keys.storeName)
        defer { link.closeWithoutWaiting() }
        try await link.run { session in
            try session.transaction(beginning: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { session in
                _ = try PostgresSchema.check(.keys, in: session, location: location)
                try PostgresBackupFile.write(PostgresMigration.keyTables, from: session, to: path, migrator: SQLiteSchema.keysMigrator)
            }
        }
    }
}
