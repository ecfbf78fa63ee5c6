import Foundation
import GRDB

/// `keys.db`: wrapped keys only, with `secure_delete` on and its WAL truncated after every shred.
///
/// One connection for the operations: every key read happens inside a `vault.db` write, which is
/// serialised already, so a reader pool would buy no concurrency and cost a schema check per read.
/// The exception is a retention run, whose batches read their patrons' keys while the batch
/// before destroys its own: those reads go to a read-only connection opened on first use.
struct SQLiteKeyStore: KeyStore {
    let pool: DatabaseQueue
    let turns = WriterTurns()
    let reader: KeyStoreReader

    /// One statement, so one snapshot and no explicit transaction: the patron key and set, and
    /// every record key of the patron (their number is the key count the record-set check uses).
    func wrappedKeys(patron: PatronPseudonym, records ids: [(id: RecordID, version: Int64)]) throws -> WrappedKeys {
        try pool.inDatabase { kdb in
            // A lookup asks for a handful of keys, searched directly; an export or a purge asks
            // for thousands, found by hashing.
            let wanted = ids.count > 16 ? Dictionary(ids.map { ($0.id, $0.version) }, uniquingKeysWith: { first, _ in first }) : nil
            return try Self.wrappedKeys(of: patron, in: kdb) { id, version in
                wanted.map { $0[id] == version } ?? ids.contains(where: { $0.id == id && $0.version == version })
            }
        }
    }

    func wrappedKeys(patrons: [PatronPseudonym]) throws -> [PatronPseudonym: WrappedKeys] {
        try reader.connection().inDatabase { kdb in
            var all: [PatronPseudonym: WrappedKeys] = [:]
            for patron in patrons {
                let keys = try Self.wrappedKeys(of: patron, in: kdb) { _, _ in true }
                if keys.patronKey != nil { all[patron] = keys }
            }
            return all
        }
    }

    /// A patron's key, record set and record-key count, with the record keys `isWanted` keeps.
    private static func wrappedKeys(of patron: PatronPseudonym, in kdb: Database, keeping isWanted: (RecordID, Int64) -> Bool) throws -> WrappedKeys {
        let query = RawStatement(
            try kdb.cachedStatement(sql: """
                SELECT p.kek_version, p.wrapped, p.record_set, r.record_id, r.version, r.wrapped
                FROM patron_key p LEFT JOIN record_key r ON r.pseudonym = p.pseudonym WHERE p.pseudonym = ?
                """), in: kdb)
        defer { query.reset() }
        query.bind(1, patron.bytes)
        var patronKey: (kekVersion: Int64, wrapped: [UInt8])?
        var recordSet: RecordSetDigest?
        var count = 0
        var found: [RecordID: [UInt8]] = [:]
        while try query.step() {
            if patronKey == nil {
                patronKey = (query.int64(0), query.bytes(1))
                recordSet = query.optionalBytes(2).map(RecordSetDigest.init(bytes:))
            }
            guard !query.isNull(3) else { continue }
            count += 1
            let id = RecordID(bytes: query.bytes(3))
            if isWanted(id, query.int64(4)) { found[id] = query.bytes(5) }
        }
        return WrappedKeys(patronKey: patronKey, recordSet: recordSet, recordKeyCount: count, recordKeys: found)
    }

    func recordKeys(patron: PatronPseudonym) throws -> StoredRecordKeys {
        try SQLiteStorage.read(pool) { kdb in
            let setQuery = RawStatement(try kdb.cachedStatement(sql: "SELECT record_set FROM patron_key WHERE pseudonym = ?"), in: kdb)
            defer { setQuery.reset() }
            setQuery.bind(1, patron.bytes)
            let set = try setQuery.step() ? setQuery.optionalBytes(0).map(RecordSetDigest.init(bytes:)) : nil
            let query = RawStatement(
                try kdb.cachedStatement(sql: "SELECT record_id, version, element, settled FROM record_key WHERE pseudonym = ?"), in: kdb)
            defer { query.reset() }
            query.bind(1, patron.bytes)
            var keys: [RecordOwner: StoredRecordKeys.Key] = [:]
            while try query.step() {
                let owner = RecordOwner(patron: patron, record: RecordID(bytes: query.bytes(0)), version: query.int64(1))
                keys[owner] = StoredRecordKeys.Key(element: query.optionalBytes(2), settled: query.int64(3) != 0)
            }
            return StoredRecordKeys(recordSet: set, keys: keys)
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
        let seal = try kdb.cachedStatement(sql: "INSERT OR REPLACE INTO staff_seal(id, tag) VALUES (?, ?)")
        for staff in batch.staffSeals { try seal.execute(arguments: [staff.id, Data(staff.tag)]) }
        let patronKey = try kdb.cachedStatement(sql: "INSERT INTO patron_key(pseudonym, kek_version, wrapped, record_set) VALUES (?, ?, ?, ?)")
        for key in batch.patronKeys {
            let insert = RawStatement(patronKey, in: kdb)
            insert.bind(1, key.patron.bytes)
            insert.bind(2, key.kekVersion)
            insert.bind(3, key.wrapped)
            insert.bind(4, key.recordSet.bytes)
            _ = try insert.step()
            insert.reset()
        }
        let recordKey = try kdb.cachedStatement(
            sql: "INSERT INTO record_key(pseudonym, record_id, version, wrapped, element, settled) VALUES (?, ?, ?, ?, ?, ?)")
        for key in batch.recordKeys {
            let insert = RawStatement(recordKey, in: kdb)
            insert.bind(1, key.patron.bytes)
            insert.bind(2, key.record.bytes)
            insert.bind(3, key.version)
            insert.bind(4, key.wrapped)
            insert.bind(5, key.element)
            insert.bind(6, key.settled ? 1 : 0)
            _ = try insert.step()
            insert.reset()
        }
    }

    func remove(_ batch: KeyBatch) {
        try? delete(batch)
    }

    /// Deletes keys that are in no record set: a new patron's (the patron key goes with them),
    /// or unsettled ones.
    func delete(_ batch: KeyBatch) throws {
        try pool.write { kdb in
            let patronKey = try kdb.cachedStatement(sql: "DELETE FROM patron_key WHERE pseudonym = ?")
            for key in batch.patronKeys { try patronKey.execute(arguments: [Data(key.patron.bytes)]) }
            let recordKey = try kdb.cachedStatement(sql: "DELETE FROM record_key WHERE pseudonym = ? AND record_id = ? AND version = ?")
            for key in batch.recordKeys { try recordKey.execute(arguments: [Data(key.patron.bytes), Data(key.record.bytes), key.version]) }
            let seal = try kdb.cachedStatement(sql: "DELETE FROM staff_seal WHERE id = ?")
            for staff in batch.staffSeals { try seal.execute(arguments: [staff.id]) }
        }
    }

    func metadataValue(_ name: String) throws -> [UInt8]? {
        try SQLiteStorage.read(pool) { kdb in
            try Data.fetchOne(kdb.cachedStatement(sql: "SELECT value FROM key_meta WHERE name = ?"), arguments: [name]).map { Array($0) }
        }
    }

    func staffSeals() throws -> [String: [UInt8]] {
        try SQLiteStorage.read(pool) { kdb in
            var seals: [String: [UInt8]] = [:]
            for row in try Row.fetchAll(kdb.cachedStatement(sql: "SELECT id, tag FROM staff_seal")) { seals[row[0]] = Array(row[1] as Data) }
            return seals
        }
    }

    func staffSeal(id: String) throws -> [UInt8]? {
        try SQLiteStorage.read(pool) { kdb in
            try Data.fetchOne(kdb.cachedStatement(sql: "SELECT tag FROM staff_seal WHERE id = ?"), arguments: [id]).map { Array($0) }
        }
    }

    func sealStaff(id: String, tag: [UInt8]) async throws {
        try await SQLiteStorage.translating {
            try await turns.run {
                try pool.write { kdb in try kdb.execute(sql: "INSERT OR REPLACE INTO staff_seal(id, tag) VALUES (?, ?)", arguments: [id, Data(tag)]) }
            }
        }
    }

    func settle(_ keys: [RecordOwner]) async throws {
        guard !keys.isEmpty else { return }
        try await SQLiteStorage.translating {
            try await turns.run { try pool.write { kdb in try Self.settle(keys, in: kdb) } }
        }
    }

    func settleNow(_ keys: [RecordOwner]) throws {
        guard !keys.isEmpty else { return }
        try pool.write { kdb in try Self.settle(keys, in: kdb) }
    }

    /// Marks keys settled and adds their elements to their patrons' sets, each exactly once.
    private static func settle(_ keys: [RecordOwner], in kdb: Database) throws {
        let statement = try kdb.cachedStatement(
            sql: "UPDATE record_key SET settled = 1 WHERE pseudonym = ? AND record_id = ? AND version = ? AND settled = 0 RETURNING element")
        var changes: [PatronPseudonym: RecordSetDigest] = [:]
        for key in keys {
            guard let element = try Data.fetchOne(statement, arguments: [Data(key.patron.bytes), Data(key.record.bytes), key.version]) else { continue }
            changes[key.patron, default: .empty].add(Array(element))
        }
        try apply(changes, in: kdb)
    }

    /// Adds each patron's change (a sum of added elements minus removed ones) to their stored set.
    private static func apply(_ changes: [PatronPseudonym: RecordSetDigest], in kdb: Database) throws {
        let read = try kdb.cachedStatement(sql: "SELECT record_set FROM patron_key WHERE pseudonym = ?")
        let write = try kdb.cachedStatement(sql: "UPDATE patron_key SET record_set = ? WHERE pseudonym = ?")
        for (patron, change) in changes {
            guard let stored = try Data.fetchOne(read, arguments: [Data(patron.bytes)]) else { continue }
            var set = RecordSetDigest(bytes: Array(stored))
            set.add(change.bytes)
            try write.execute(arguments: [Data(set.bytes), Data(patron.bytes)])
        }
    }

    func unsettled() throws -> [(owner: RecordOwner, element: [UInt8]?)] {
        try SQLiteStorage.read(pool) { kdb in
            try Row.fetchAll(kdb, sql: "SELECT pseudonym, record_id, version, element FROM record_key WHERE settled = 0").map {
                (
                    RecordOwner(patron: PatronPseudonym(bytes: Array($0[0] as Data)), record: RecordID(bytes: Array($0[1] as Data)), version: $0[2]),
                    ($0[3] as Data?).map { Array($0) }
                )
            }
        }
    }

    func upgradeRecordSets(elements: [RecordOwner: [UInt8]], staffSeals: [(id: String, tag: [UInt8])], metadata: [String: [UInt8]]) throws {
        try pool.write { kdb in
            for staff in staffSeals {
                try kdb.execute(sql: "INSERT OR REPLACE INTO staff_seal(id, tag) VALUES (?, ?)", arguments: [staff.id, Data(staff.tag)])
            }
            let statement = try kdb.cachedStatement(sql: "UPDATE record_key SET element = ?, settled = 1 WHERE pseudonym = ? AND record_id = ? AND version = ?")
            var sets: [PatronPseudonym: RecordSetDigest] = [:]
            for (owner, element) in elements {
                try statement.execute(arguments: [Data(element), Data(owner.patron.bytes), Data(owner.record.bytes), owner.version])
                sets[owner.patron, default: .empty].add(element)
            }
            try kdb.execute(sql: "UPDATE patron_key SET record_set = ?", arguments: [Data(RecordSetDigest.empty.bytes)])
            let write = try kdb.cachedStatement(sql: "UPDATE patron_key SET record_set = ? WHERE pseudonym = ?")
            for (patron, set) in sets { try write.execute(arguments: [Data(set.bytes), Data(patron.bytes)]) }
            for (name, value) in metadata {
                try kdb.execute(sql: "UPDATE key_meta SET value = ? WHERE name = ?", arguments: [Data(value), name])
            }
        }
    }

    func counts() throws -> (patronKeys: Int, recordKeys: Int) {
        try SQLiteStorage.read(pool) { kdb in
            (try Int.fetchOne(kdb, sql: "SELECT count(*) FROM patron_key") ?? 0, try Int.fetchOne(kdb, sql: "SELECT count(*) FROM record_key") ?? 0)
        }
    }

    func hasUnsettled() throws -> Bool {
        try SQLiteStorage.read(pool) { kdb in try Bool.fetchOne(kdb, sql: "SELECT EXISTS (SELECT 1 FROM record_key WHERE settled = 0)") ?? false }
    }

    func owners() throws -> KeyOwners {
        try SQLiteStorage.read(pool) { kdb in
            var owners = KeyOwners()
            for row in try Row.fetchAll(kdb, sql: "SELECT pseudonym FROM patron_key") {
                owners.patrons.insert(PatronPseudonym(bytes: Array(row[0] as Data)))
            }
            for row in try Row.fetchAll(kdb, sql: "SELECT pseudonym, record_id, version, settled FROM record_key") {
                let owner = RecordOwner(patron: PatronPseudonym(bytes: Array(row[0] as Data)), record: RecordID(bytes: Array(row[1] as Data)), version: row[2])
                owners.records.insert(owner)
                if row[3] as Bool { owners.settled.insert(owner) }
            }
            return owners
        }
    }

    func shred(_ shreds: [PendingShred]) async throws -> Bool {
        try await SQLiteStorage.translating {
            try await turns.run { try Self.shred(shreds, in: pool) }
        }
    }

    /// On the calling thread, once it has the turn: no hop to GRDB's queue after every return.
    /// A settled key's element is taken out of its patron's set in the same transaction as the key.
    private static func shred(_ shreds: [PendingShred], in pool: DatabaseQueue) throws -> Bool {
        try pool.write { kdb in
            let recordKey = RawStatement(
                try kdb.cachedStatement(sql: "DELETE FROM record_key WHERE pseudonym = ? AND record_id = ? AND version = ? RETURNING element, settled"),
                in: kdb)
            var changes: [PatronPseudonym: RecordSetDigest] = [:]
            for shred in shreds {
                recordKey.bind(1, shred.patron.bytes)
                recordKey.bind(2, shred.record.bytes)
                recordKey.bind(3, shred.version)
                var element: [UInt8]?
                if try recordKey.step(), recordKey.int64(1) != 0 { element = recordKey.optionalBytes(0) }
                try recordKey.execute()
                if let element { changes[shred.patron, default: .empty].subtract(element) }
            }
            try apply(changes, in: kdb)
        }
        return try pool.writeWithoutTransaction { kdb in try SQLiteStorage.truncateWAL(kdb) }
    }

    func destroyPatronKeys(_ patrons: [PatronPseudonym]) async throws -> Bool {
        try await SQLiteStorage.translating {
            try await turns.run {
                try pool.write { kdb in
                    for patron in patrons {
                        try kdb.execute(sql: "DELETE FROM record_key WHERE pseudonym = ?", arguments: [Data(patron.bytes)])
                        try kdb.execute(sql: "DELETE FROM patron_key WHERE pseudonym = ?", arguments: [Data(patron.bytes)])
                    }
                }
                return try pool.writeWithoutTransaction { kdb in try SQLiteStorage.truncateWAL(kdb) }
            }
        }
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

    func backupSnapshot(to path: String) throws -> any BackupSnapshot {
        let copy = try DatabaseQueue(path: path)
        try pool.backup(to: copy)
        try copy.close()
        return WrittenBackupSnapshot()
    }

    func checkpoint() async throws {
        try await turns.run { try await pool.passiveCheckpoint() }
    }

    func close() async throws {
        reader.close()
        try await turns.run { try await pool.closeTruncatingWAL() }
    }
}

/// The key store's read-only connection, opened when first asked for. Its reads are single
/// statements, so it never holds a snapshot that would keep a shred's WAL truncation waiting
/// for long; a truncation that meets one fails, and the shred stays queued to be finished.
final class KeyStoreReader: @unchecked Sendable {
    private let path: String
    private let lock = NSLock()
    private var queue: DatabaseQueue?
    private var closed = false

    init(path: String) {
        self.path = path
    }

    func connection() throws -> DatabaseQueue {
        try lock.withLock {
            if let queue { return queue }
            guard !closed else { throw VaultError.storage("the key store is closed") }
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(15)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                try db.execute(sql: "PRAGMA cache_size = -2048")
            }
            let opened = try DatabaseQueue(path: path, configuration: configuration)
            queue = opened
            return opened
        }
    }

    /// Closes the connection if it was opened; a reader that cannot close cleanly holds nothing
    /// the key store's own close needs, so that close goes on.
    func close() {
        lock.withLock {
            try? queue?.close()
            queue = nil
            closed = true
        }
    }
}

/// A system key row, Sendable for the writer's closure.
struct SystemKeyRow: Sendable {
    let name: String
    let kekVersion: Int64
    let wrapped: [UInt8]
}
