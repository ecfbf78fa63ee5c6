import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// The two SQLite files of a vault. `vault.db` holds sealed records, blind indexes, staff and the
/// audit trail; `keys.db` holds every wrapped key. Keeping keys apart means a backup of records
/// alone can never be opened once a key is shredded, and `keys.db` runs with `secure_delete` and
/// a truncating checkpoint after each deletion so no copy of a destroyed key survives in its WAL.
///
/// Write order keeps the pair consistent without a cross-file transaction: keys are committed
/// before the records that need them, and records are removed (with a `pending_shred` entry in the
/// same transaction) before their keys; pending shreds are finished on the next open.
struct VaultStorage: Sendable {
    static let recordsFileName = "vault.db"
    static let keysFileName = "keys.db"

    let records: DatabaseQueue
    let keys: DatabaseQueue

    static func open(directory: URL, create: Bool) throws(VaultError) -> VaultStorage {
        let recordsPath = directory.appendingPathComponent(recordsFileName).path
        let keysPath = directory.appendingPathComponent(keysFileName).path
        let fm = FileManager.default
        if !create {
            guard fm.fileExists(atPath: recordsPath), fm.fileExists(atPath: keysPath) else {
                throw VaultError(.notInitialized, "no vault at \(directory.path); run 'patronvault init' first")
            }
        }
        if create {
            // SQLite gives -wal and -shm the mode of the main file, so creating both files 0600
            // first keeps every vault file private to its owner.
            for path in [recordsPath, keysPath] {
                let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw VaultError(.alreadyInitialized, "a vault already exists at \(directory.path)") }
                close(fd)
            }
        }
        do {
            let records = try DatabaseQueue(path: recordsPath, configuration: configuration())
            let keys = try DatabaseQueue(path: keysPath, configuration: configuration())
            try records.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            try keys.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            try recordsMigrator.migrate(records)
            try keysMigrator.migrate(keys)
            return VaultStorage(records: records, keys: keys)
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultStorage.translate(error)
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

    private static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(15)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Blind indexes and random ids scatter inserts over the B-trees, so a larger page
            // cache than SQLite's 2 MiB default saves re-reading pages on every insert.
            try db.execute(sql: "PRAGMA cache_size = -65536")
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
        return .storage("the vault storage failed")
    }
}
