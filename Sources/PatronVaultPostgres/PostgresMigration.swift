import Foundation
import GRDB
import PatronVaultCore
import PostgresNIO

/// Copies an embedded vault (the folder's `vault.db` and `keys.db`) into a PostgreSQL pair, row
/// for row: every value is sealed or keyed already, and the audit entries keep their exact text,
/// so the chain, its MACs and its signed checkpoints carry over unchanged and verify on the other
/// side. Nothing is decrypted. The pair must be empty; the tables are made as `init` makes them,
/// then filled, each database in one transaction, so a failure leaves them empty again.
package enum PostgresMigration {
    /// What is copied, in order: SQLite's table, its columns, and each column's PostgreSQL type.
    struct Table {
        let name: String
        let columns: [(name: String, type: ColumnType)]
        /// The order rows are read and written in (rowid tables keep their write order).
        let order: String
        /// The same order on PostgreSQL, where the write order is `row_id` or not kept.
        var postgresOrder: String {
            guard order == "rowid" else { return order }
            return switch name {
            case "staff": "created_at, id"
            case "record_key": "pseudonym, record_id, version"
            default: "row_id"
            }
        }
    }

    enum ColumnType {
        case bytes, integer, boolean, text
    }

    static let recordTables: [Table] = [
        Table(name: "vault_meta", columns: [("name", .text), ("value", .bytes)], order: "name"),
        Table(name: "patron", columns: [
            ("pseudonym", .bytes), ("card_index", .bytes), ("email_index", .bytes), ("name_index", .bytes), ("history_keep", .boolean),
            ("registration_id", .bytes), ("registered_day", .integer), ("expires_day", .integer),
        ], order: "rowid"),
        Table(name: "record", columns: [
            ("patron", .bytes), ("id", .bytes), ("kind", .integer), ("state", .integer), ("item_index", .bytes), ("opened_day", .integer),
            ("due_day", .integer), ("closed_day", .integer), ("settled_day", .integer), ("version", .integer), ("sealed", .bytes),
        ], order: "rowid"),
        Table(name: "pin_attempt", columns: [("pseudonym", .bytes), ("failures", .integer), ("locked_until", .integer), ("last_failure_day", .integer)], order: "pseudonym"),
        Table(name: "staff", columns: [
            ("id", .text), ("name", .text), ("role", .text), ("token_hash", .bytes), ("created_at", .integer), ("revoked_at", .integer), ("remote_only", .boolean),
        ], order: "rowid"),
        Table(name: "circulation_stat", columns: [("item_barcode", .text), ("branch", .text), ("month", .text), ("returns", .integer)], order: "month, branch, item_barcode"),
        Table(name: "pending_shred", columns: [("record_id", .bytes), ("patron", .bytes), ("version", .integer), ("tag", .bytes)], order: "record_id, version"),
        Table(name: "retention_progress", columns: [
            ("position", .integer), ("rule", .text), ("started_at", .integer), ("cutoff_day", .integer), ("cursor", .bytes), ("records", .integer),
            ("patrons", .integer), ("kept", .integer), ("done", .boolean),
        ], order: "position"),
        Table(name: "legal_order", columns: [("id", .text), ("patron", .bytes), ("sealed", .bytes)], order: "id"),
        Table(name: "audit_entry", columns: [
            ("seq", .integer), ("time", .integer), ("principal_kind", .text), ("principal_id", .text), ("principal_role", .text), ("action", .text),
            ("resource_kind", .text), ("patron", .text), ("purpose", .text), ("decision", .text), ("rule_ids", .text), ("policy_digest", .text),
            ("front_end", .text), ("key_version", .integer), ("mac", .bytes), ("detail", .text),
        ], order: "seq"),
        Table(name: "audit_checkpoint", columns: [("size", .integer), ("root", .bytes), ("time", .integer), ("key_id", .bytes), ("signature", .bytes)], order: "size"),
        Table(name: "audit_state", columns: [("id", .integer), ("size", .integer), ("frontier", .bytes), ("last_mac", .bytes), ("last_time", .integer)], order: "id"),
    ]

    static let keyTables: [Table] = [
        Table(name: "key_meta", columns: [("name", .text), ("value", .bytes)], order: "name"),
        Table(name: "system_key", columns: [("name", .text), ("kek_version", .integer), ("wrapped", .bytes)], order: "name"),
        Table(name: "patron_key", columns: [("pseudonym", .bytes), ("kek_version", .integer), ("wrapped", .bytes), ("record_set", .bytes)], order: "rowid"),
        Table(name: "record_key", columns: [
            ("pseudonym", .bytes), ("record_id", .bytes), ("version", .integer), ("wrapped", .bytes), ("element", .bytes), ("settled", .boolean),
        ], order: "rowid"),
        Table(name: "staff_seal", columns: [("id", .text), ("tag", .bytes)], order: "id"),
    ]

    /// Rows in each table of the folder's two files: what a dry run shows.
    package static func counts(in directory: URL) throws -> [(table: String, rows: Int)] {
        try withSources(in: directory) { records, keys in
            var counts: [(table: String, rows: Int)] = []
            for (tables, source) in [(recordTables, records), (keyTables, keys)] {
                for table in tables {
                    let rows = try source.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0 }
                    counts.append((table.name, rows))
                }
            }
            return counts
        }
    }

    /// Makes the pair's tables and copies every row into them; returns the rows copied per table.
    package static func copy(from directory: URL, to configuration: PostgresStorageConfiguration) async throws -> [(table: String, rows: Int)] {
        let created = PostgresCreation()
        let made = try PostgresStorage.open(configuration, create: true, created: created)
        await made.close()
        do {
            return try withSources(in: directory) { records, keys in
                let copiedRecords = try fill(recordTables, from: records, into: configuration.records, role: .records)
                let copiedKeys = try fill(keyTables, from: keys, into: configuration.keys, role: .keys)
                return copiedRecords + copiedKeys
            }
        } catch {
            if let id = created.vaultID { PostgresStorage.remove(configuration, vaultID: id) }
            throw error
        }
    }

    private static func withSources<T>(in directory: URL, _ body: (DatabaseQueue, DatabaseQueue) throws -> T) throws -> T {
        var readOnly = Configuration()
        readOnly.readonly = true
        let paths = [SQLiteStorage.recordsFileName, SQLiteStorage.keysFileName].map { directory.appendingPathComponent($0).path }
        guard paths.allSatisfy(FileManager.default.fileExists(atPath:)) else {
            throw VaultError(.notInitialized, "no embedded vault at \(directory.path) to migrate")
        }
        do {
            let records = try DatabaseQueue(path: paths[0], configuration: readOnly)
            let keys = try DatabaseQueue(path: paths[1], configuration: readOnly)
            defer {
                try? records.close()
                try? keys.close()
            }
            return try body(records, keys)
        } catch let error as VaultError {
            throw error
        } catch is DatabaseError {
            throw VaultError(.corruptVault, "the vault files at \(directory.path) cannot be read as a PatronVault vault")
        }
    }

    /// Copies the tables into the database in one transaction, in batches of rows a statement.
    private static func fill(_ tables: [Table], from source: DatabaseQueue, into location: PostgresLocation, role: PostgresSchema.Role) throws -> [(table: String, rows: Int)] {
        let link = PostgresLink(location, name: role.storeName)
        defer { link.close() }
        return try source.read { db in
            try link.transaction { session in
                if role == .records { try session.execute("DELETE FROM audit_state") }
                return try tables.map { table in
                    let columns = table.columns.map(\.name).joined(separator: ", ")
                    let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM \(table.name) ORDER BY \(table.order)")
                    var copied = 0
                    var batch: [Row] = []
                    let batchSize = max(1, 30_000 / table.columns.count)
                    while let row = try cursor.next() {
                        batch.append(row.copy())
                        if batch.count == batchSize {
                            try insert(batch, into: table, session: session)
                            copied += batch.count
                            batch.removeAll(keepingCapacity: true)
                        }
                    }
                    try insert(batch, into: table, session: session)
                    return (table.name, copied + batch.count)
                }
            }
        }
    }

    private static func insert(_ rows: [Row], into table: Table, session: PostgresSession) throws {
        guard !rows.isEmpty else { return }
        var binds = PostgresBindings(capacity: rows.count * table.columns.count)
        var tuples: [String] = []
        tuples.reserveCapacity(rows.count)
        for row in rows {
            var places: [String] = []
            for (index, column) in table.columns.enumerated() {
                let value = row[index] as DatabaseValue
                if value.isNull {
                    binds.appendNull()
                } else {
                    switch column.type {
                    case .bytes:
                        guard let data = Data.fromDatabaseValue(value) else { throw mismatch(table, column.name) }
                        binds.append(ByteBuffer(bytes: data))
                    case .integer:
                        guard let number = Int64.fromDatabaseValue(value) else { throw mismatch(table, column.name) }
                        binds.append(number)
                    case .boolean:
                        guard let number = Int64.fromDatabaseValue(value) else { throw mismatch(table, column.name) }
                        binds.append(number != 0)
                    case .text:
                        guard let text = String.fromDatabaseValue(value) else { throw mismatch(table, column.name) }
                        binds.append(text)
                    }
                }
                places.append("$\(binds.count)")
            }
            tuples.append("(" + places.joined(separator: ", ") + ")")
        }
        let columns = table.columns.map(\.name).joined(separator: ", ")
        try session.execute(PostgresQuery(unsafeSQL: "INSERT INTO \(table.name) (\(columns)) VALUES \(tuples.joined(separator: ", "))", binds: binds))
    }

    private static func mismatch(_ table: Table, _ column: String) -> VaultError {
        VaultError(.corruptVault, "the vault's \(table.name) table holds a value of the wrong type in \(column); it was edited, and is not migrated")
    }
}
