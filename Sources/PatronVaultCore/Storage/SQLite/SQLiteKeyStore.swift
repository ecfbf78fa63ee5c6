import Foundation
import GRDB

/// `keys.db`: wrapped keys only, with `secure_delete` on and its WAL truncated after every shred.
///
/// One connection: every key read happens inside a `vault.db` write, which is serialised
/// already, so a reader pool here would buy no concurrency and cost a schema check per read.
struct SQLiteKeyStore: KeyStore {
    let pool: DatabaseQueue
    let turns = WriterTurns()

    func wrappedKeys(patron: PatronPseudonym, records ids: [(id: RecordID, version: Int64)]) throws -> WrappedKeys {
        let owner = Data(patron.bytes)
        return try SQLiteStorage.read(pool) { kdb in
            let row = try Row.fetchOne(kdb.cachedStatement(sql: "SELECT kek_version, wrapped FROM patron_key WHERE pseudonym = ?"), arguments: [owner])
            var found: [RecordID: [UInt8]] = [:]
            if !ids.isEmpty {
                let statement = try kdb.cachedStatement(sql: "SELECT wrapped FROM record_key WHERE pseudonym = ? AND record_id = ? AND version = ?")
                for (id, version) in ids {
                    if let wrapped = try Data.fetchOne(statement, arguments: [owner, Data(id.bytes), version]) { found[id] = Array(wrapped) }
                }
            }
            return WrappedKeys(patronKey: row.map { ($0["kek_version"], Array($0["wrapped"] as Data)) }, recordKeys: found)
        }
    }

    func insert(_ batch: KeyBatch) throws {
        guard !batch.isEmpty else { return }
        try pool.write { kdb in try Self.insert(batch, in: kdb) }
    }

    func insertConcurrently(_ batch: KeyBatch) async throws {
        guard !batch.isEmpty else { return }
        try await SQLiteStorage.translating {
            try await pool.write { kdb in try Self.insert(batch, in: kdb) }
        }
    }

    private static func insert(_ batch: KeyBatch, in kdb: Database) throws {
        let patronKey = try kdb.cachedStatement(sql: "INSERT INTO patron_key(pseudonym, kek_version, wrapped) VALUES (?, ?, ?)")
        for key in batch.patronKeys {
            try patronKey.execute(arguments: [Data(key.patron.bytes), key.kekVersion, Data(key.wrapped)])
        }
        let recordKey = try kdb.cachedStatement(sql: "INSERT INTO record_key(pseudonym, record_id, version, wrapped) VALUES (?, ?, ?, ?)")
        for key in batch.recordKeys {
            try recordKey.execute(arguments: [Data(key.patron.bytes), Data(key.record.bytes), key.version, Data(key.wrapped)])
        }
    }

    func remove(_ batch: KeyBatch) {
        try? delete(batch)
    }

    func delete(_ batch: KeyBatch) throws {
        try pool.write { kdb in
            let patronKey = try kdb.cachedStatement(sql: "DELETE FROM patron_key WHERE pseudonym = ?")
            for key in batch.patronKeys { try patronKey.execute(arguments: [Data(key.patron.bytes)]) }
            let recordKey = try kdb.cachedStatement(sql: "DELETE FROM record_key WHERE pseudonym = ? AND record_id = ? AND version = ?")
            for key in batch.recordKeys { try recordKey.execute(arguments: [Data(key.patron.bytes), Data(key.record.bytes), key.version]) }
        }
    }

    func counts() throws -> (patronKeys: Int, recordKeys: Int) {
        try SQLiteStorage.read(pool) { kdb in
            (try Int.fetchOne(kdb, sql: "SELECT count(*) FROM patron_key") ?? 0, try Int.fetchOne(kdb, sql: "SELECT count(*) FROM record_key") ?? 0)
        }
    }

    func owners() throws -> KeyOwners {
        try SQLiteStorage.read(pool) { kdb in
            try SQLiteStorage.owners(patrons: "SELECT pseudonym FROM patron_key", records: "SELECT pseudonym, record_id, version FROM record_key", in: kdb)
        }
    }

    func shred(_ shreds: [PendingShred]) async throws -> Bool {
        try await SQLiteStorage.translating {
            try await turns.run { try Self.shred(shreds, in: pool) }
        }
    }

    /// On the calling thread, once it has the turn: no hop to GRDB's queue after every return.
    private static func shred(_ shreds: [PendingShred], in pool: DatabaseQueue) throws -> Bool {
        try pool.write { kdb in
            let recordKey = try kdb.cachedStatement(sql: "DELETE FROM record_key WHERE pseudonym = ? AND record_id = ? AND version = ?")
            for shred in shreds { try recordKey.execute(arguments: [Data(shred.patron.bytes), Data(shred.record.bytes), shred.version]) }
        }
        return try pool.writeWithoutTransaction { kdb in try SQLiteStorage.truncateWAL(kdb) }
    }

    func metadata() async throws -> [String: [UInt8]] {
        try await SQLiteStorage.translating {
            try await pool.read { kdb in
                var out: [String: [UInt8]] = [:]
                for row in try Row.fetchAll(kdb, sql: "SELECT name, value FROM key_meta") { out[row["name"]] = Array(row["value"] as Data) }
                return out
            }
        }
    }

    func systemKeys() async throws -> [(name: String, kekVersion: Int64, wrapped: [UInt8])] {
        try await SQLiteStorage.translating {
            try await pool.read { kdb in
                try Row.fetchAll(kdb, sql: "SELECT name, kek_version, wrapped FROM system_key").map { ($0["name"], $0["kek_version"], Array($0["wrapped"] as Data)) }
            }
        }
    }

    func create(metadata: [String: [UInt8]], systemKeys: [(name: String, kekVersion: Int64, wrapped: [UInt8])]) async throws {
        let keys = systemKeys.map { SystemKeyRow(name: $0.name, kekVersion: $0.kekVersion, wrapped: $0.wrapped) }
        try await SQLiteStorage.translating {
            try await pool.write { kdb in
                for (name, value) in metadata {
                    try kdb.execute(sql: "INSERT INTO key_meta(name, value) VALUES (?, ?)", arguments: [name, Data(value)])
                }
                for key in keys {
                    try kdb.execute(
                        sql: "INSERT INTO system_key(name, kek_version, wrapped) VALUES (?, ?, ?)", arguments: [key.name, key.kekVersion, Data(key.wrapped)])
                }
            }
        }
    }

    func checkpoint() async throws {
        try await turns.run { try await pool.passiveCheckpoint() }
    }

    func close() async throws {
        try await turns.run { try await pool.closeTruncatingWAL() }
    }
}

/// A system key row, Sendable for the writer's closure.
private struct SystemKeyRow: Sendable {
    let name: String
    let kekVersion: Int64
    let wrapped: [UInt8]
}
