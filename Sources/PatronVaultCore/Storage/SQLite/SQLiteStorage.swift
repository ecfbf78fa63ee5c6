import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// The embedded default: two SQLite files in the vault folder, `vault.db` for records and the
/// audit trail and `keys.db` for wrapped keys, each with one writer and a pool of readers.
package enum SQLiteStorage {
    package static let recordsFileName = "vault.db"
    package static let keysFileName = "keys.db"

    /// Whether a vault folder holds either file (so `init` refuses to overwrite it).
    static func exists(in directory: URL) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: directory.appendingPathComponent(recordsFileName).path)
            || fm.fileExists(atPath: directory.appendingPathComponent(keysFileName).path)
    }

    /// Removes both files and their journals, for an `init` that failed half-way.
    static func remove(in directory: URL) {
        for name in [recordsFileName, keysFileName] {
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: directory.appendingPathComponent(name).path + suffix)
            }
        }
    }

    package static func open(directory: URL, create: Bool) throws(VaultError) -> VaultStorage {
        let recordsPath = directory.appendingPathComponent(recordsFileName).path
        let keysPath = directory.appendingPathComponent(keysFileName).path
        let fm = FileManager.default
        if !create {
            guard fm.fileExists(atPath: recordsPath), fm.fileExists(atPath: keysPath) else {
                throw VaultError(.notInitialized, "no vault at \(directory.path)")
            }
            // SQLite would take an empty file for a new database and the migrations would make an
            // empty vault of it: a truncated vault must be refused, with nothing written.
            for path in [recordsPath, keysPath] where size(of: path) == 0 && size(of: path + "-wal") == 0 {
                throw corruptFiles
            }
        } else {
            // SQLite gives -wal and -shm the mode of the main file, so creating both files 0600
            // first keeps every vault file private to its owner.
            for path in [recordsPath, keysPath] {
                let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw VaultError(.alreadyInitialized, "a vault already exists at \(directory.path)") }
                close(fd)
            }
        }
        do {
            var recordsConfiguration = configuration()
            // A bulk write keeps its transaction open across the wait for its keys' commit (the
            // writer's turn is held meanwhile; see `SQLiteRecordStore.write(_:committingAfter:_:)`).
            recordsConfiguration.allowsUnsafeTransactions = true
            let records = try DatabasePool(path: recordsPath, configuration: recordsConfiguration)
            let keys = try DatabaseQueue(path: keysPath, configuration: configuration())
            try keys.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            if !create {
                let recordsDone = try records.read { db in try SQLiteSchema.recordsMigrator.appliedIdentifiers(db) }
                let keysDone = try keys.read { db in try SQLiteSchema.keysMigrator.appliedIdentifiers(db) }
                guard recordsDone.contains("v1"), keysDone.contains("v1") else {
                    try? records.close()
                    try? keys.close()
                    throw corruptFiles
                }
            }
            try SQLiteSchema.recordsMigrator.migrate(records)
            try SQLiteSchema.keysMigrator.migrate(keys)
            return VaultStorage(records: SQLiteRecordStore(pool: records), keys: SQLiteKeyStore(pool: keys, reader: KeyStoreReader(path: keysPath)))
        } catch {
            throw translate(error)
        }
    }

    /// Reads in one deferred transaction without GRDB's read-only guard: that guard toggles
    /// `PRAGMA query_only`, and SQLite expires every prepared statement of the connection on
    /// each flag pragma, so cached statements would be recompiled on every read.
    static func read<T>(_ queue: DatabaseQueue, _ body: (Database) throws -> T) throws -> T {
        try queue.inDatabase { db in
            var result: T?
            try db.inTransaction(.deferred) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// Patrons from a query of pseudonyms, records from a query of (pseudonym, record id, version).
    static func owners(patrons: String, records: String, in db: Database) throws -> KeyOwners {
        var owners = KeyOwners()
        for row in try Row.fetchAll(db, sql: patrons) {
            owners.patrons.insert(PatronPseudonym(bytes: Array(row[0] as Data)))
        }
        for row in try Row.fetchAll(db, sql: records) {
            owners.records.insert(RecordOwner(
                patron: PatronPseudonym(bytes: Array(row[0] as Data)), record: RecordID(bytes: Array(row[1] as Data)), version: row[2]))
        }
        return owners
    }

    private static let corruptFiles = VaultError(
        .corruptVault, "the vault files are empty or not a PatronVault vault; restore them from a backup")

    private static func size(of path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    private static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(15)
        config.maximumReaderCount = 4
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Blind indexes and random ids scatter inserts over the B-trees, so a larger page
            // cache than SQLite's 2 MiB default saves re-reading pages on every insert.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            // Statement journals and temporary tables stay in memory: a savepoint's copies of
            // the pages it changes never land in a temporary file on disk, where deleted rows
            // would outlive their shredding, and a savepoint per patron costs no file writes.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        return config
    }

    /// Maps SQLite failures to sentences; GRDB keeps statement arguments out of its messages, and
    /// so do we: only the kind of failure is reported.
    static func translate(_ error: any Error) -> VaultError {
        if let vaultError = error as? VaultError { return vaultError }
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return VaultError(.corruptVault, "the vault files are corrupt or truncated; restore them from a backup")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return .storage("the vault is busy; another process holds it, try again")
            case .SQLITE_CONSTRAINT:
                return VaultError(.alreadyExists, "a card barcode or item barcode is already in the vault")
            case .SQLITE_FULL:
                return .storage("the disk is full; nothing was written")
            case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM:
                return .storage("the vault files cannot be opened for writing")
            default:
                return .storage("the vault storage failed (SQLite code \(db.resultCode.rawValue))")
            }
        }
        if error is CancellationError { return .storage("the operation was cancelled before it was written") }
        return .storage("the vault storage failed")
    }
}
