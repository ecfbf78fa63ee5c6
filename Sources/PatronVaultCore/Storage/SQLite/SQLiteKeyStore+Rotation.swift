import Foundation
import GRDB

extension SQLiteKeyStore {
    func replaceMetadata(setting values: [String: [UInt8]], removing names: [String]) throws {
        try durably { kdb in try Self.replace(values, removing: names, in: kdb) }
    }

    /// Walks `patron_key` in rowid order from `rowID`, rewrapping the keys still at `from` and
    /// skipping those already at `to`: a rotation resumed after a crash passes over its own work.
    /// A key at any other version means the store was edited, and stops the batch.
    func rewrapPatronKeys(
        from: Int64, to: Int64, after rowID: Int64, limit: Int, _ rewrap: (PatronPseudonym, [UInt8]) throws -> [UInt8]
    ) throws -> (lastRowID: Int64, rewrapped: Int)? {
        try pool.write { kdb in
            let select = RawStatement(
                try kdb.cachedStatement(sql: "SELECT rowid, pseudonym, kek_version, wrapped FROM patron_key WHERE rowid > ? ORDER BY rowid LIMIT ?"), in: kdb)
            select.bind(1, rowID)
            select.bind(2, Int64(limit))
            var pending: [(rowID: Int64, wrapped: [UInt8])] = []
            var last: Int64?
            do {
                defer { select.reset() }
                while try select.step() {
                    last = select.int64(0)
                    switch select.int64(2) {
                    case from: pending.append((select.int64(0), try rewrap(PatronPseudonym(bytes: select.bytes(1)), select.bytes(3))))
                    case to: continue
                    default: throw VaultError.integrity
                    }
                }
            }
            guard let last else { return nil }
            let update = RawStatement(try kdb.cachedStatement(sql: "UPDATE patron_key SET kek_version = ?, wrapped = ? WHERE rowid = ?"), in: kdb)
            for row in pending {
                update.bind(1, to)
                update.bind(2, row.wrapped)
                update.bind(3, row.rowID)
                try update.execute()
            }
            return (last, pending.count)
        }
    }

    func finishRotation(to version: Int64, systemKeys: [(name: String, wrapped: [UInt8])], setting values: [String: [UInt8]], removing names: [String]) throws {
        let rows = systemKeys.map { SystemKeyRow(name: $0.name, kekVersion: version, wrapped: $0.wrapped) }
        try durably { kdb in
            let left = try Int.fetchOne(kdb, sql: "SELECT count(*) FROM patron_key WHERE kek_version != ?", arguments: [version]) ?? 0
            guard left == 0 else {
                throw VaultError(.storageFailure, "\(left) patron keys are not yet wrapped under the new master key; the rotation was not finished")
            }
            for row in rows { try Self.update(row, in: kdb) }
            try Self.replace(values, removing: names, in: kdb)
        }
        // The old wrapped keys leave the WAL too (secure_delete has zeroed them in the main file).
        _ = try? pool.writeWithoutTransaction { kdb in try SQLiteStorage.truncateWAL(kdb) }
    }

    func replaceSystemKey(name: String, kekVersion: Int64, wrapped: [UInt8], setting values: [String: [UInt8]]) throws {
        let row = SystemKeyRow(name: name, kekVersion: kekVersion, wrapped: wrapped)
        try durably { kdb in
            try Self.update(row, in: kdb)
            try Self.replace(values, removing: [], in: kdb)
        }
        _ = try? pool.writeWithoutTransaction { kdb in try SQLiteStorage.truncateWAL(kdb) }
    }

    func keyVersions() throws -> KeyVersionCounts {
        try SQLiteStorage.read(pool) { kdb in
            var counts = KeyVersionCounts()
            for row in try Row.fetchAll(kdb, sql: "SELECT kek_version, count(*) FROM patron_key GROUP BY kek_version") {
                counts.patronKeys[row[0]] = row[1]
            }
            for row in try Row.fetchAll(kdb, sql: "SELECT kek_version, count(*) FROM system_key GROUP BY kek_version") {
                counts.systemKeys[row[0]] = row[1]
            }
            counts.recordKeys = try Int.fetchOne(kdb, sql: "SELECT count(*) FROM record_key") ?? 0
            return counts
        }
    }

    /// One transaction whose commit is on disk when it returns (`synchronous = FULL` for it):
    /// once a rotation is recorded or finished, a power cut must not take it back while the
    /// admin goes on to keep or delete key files on its word.
    private func durably(_ body: (Database) throws -> Void) throws {
        try pool.writeWithoutTransaction { kdb in
            try kdb.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? kdb.execute(sql: "PRAGMA synchronous = NORMAL") }
            try kdb.inTransaction(.immediate) {
                try body(kdb)
                return .commit
            }
        }
    }

    private static func update(_ row: SystemKeyRow, in kdb: Database) throws {
        try kdb.execute(sql: "UPDATE system_key SET kek_version = ?, wrapped = ? WHERE name = ?", arguments: [row.kekVersion, Data(row.wrapped), row.name])
        guard kdb.changesCount == 1 else { throw VaultError(.corruptVault, "the key store is missing system keys") }
    }

    private static func replace(_ values: [String: [UInt8]], removing names: [String], in kdb: Database) throws {
        for (name, value) in values {
            try kdb.execute(sql: "INSERT OR REPLACE INTO key_meta(name, value) VALUES (?, ?)", arguments: [name, Data(value)])
        }
        for name in names { try kdb.execute(sql: "DELETE FROM key_meta WHERE name = ?", arguments: [name]) }
    }
}
