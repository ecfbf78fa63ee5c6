import Foundation
import NIOCore
import PatronVaultCore
import PatronVaultCrypto
import PostgresNIO
import Synchronization

/// The key database on PostgreSQL: wrapped keys only, in a database of their own.
///
/// Rows deleted in PostgreSQL stay in their pages as dead tuples until VACUUM, and VACUUM frees
/// their space without always overwriting it. So every shred batch is followed by a VACUUM of the
/// key tables, which leaves no deleted key reachable as a row, and the key tables are compacted
/// (`VACUUM FULL`, which writes them anew and drops the old files) after every erasure and at the
/// maintenance interval otherwise; SECURITY.md says what stays in WAL and backups.
///
/// Several daemons share the database: a record set is changed only under its patron row's lock
/// (`FOR UPDATE`, taken in pseudonym order so two settles never deadlock).
package final class PostgresKeyStore: KeyStore {
    let writer: PostgresLink
    /// For retention's key reads, which run while the batch before destroys its own.
    let reader: PostgresLink
    /// For the one-statement reads every request makes (a staff seal, a patron's keys): any
    /// free one serves, so concurrent lookups do not queue on one connection.
    let lookups: PostgresLinkSet
    /// The longest a shredded key's bytes may wait in freed page space for the next compaction.
    let compactionInterval: Duration
    /// When keys were last shredded without a compaction since, if they were.
    private let uncompacted = Mutex<ContinuousClock.Instant?>(nil)

    init(location: PostgresLocation, compactionInterval: Duration, readers: Int) {
        writer = PostgresLink(location, name: PostgresSchema.Role.keys.storeName)
        reader = PostgresLink(location, name: PostgresSchema.Role.keys.storeName)
        lookups = PostgresLinkSet(first: writer, location: location, name: PostgresSchema.Role.keys.storeName, size: readers)
        self.compactionInterval = compactionInterval
    }

    /// Opens the key database at `location`, or makes its tables when `create` is set.
    /// `vaultID` is the records database's: a key database of another vault is refused.
    package static func open(
        _ location: PostgresLocation, create: Bool, vaultID: [UInt8], compactionInterval: Duration = .seconds(600), readers: Int = 4
    ) throws -> PostgresKeyStore {
        let store = PostgresKeyStore(location: location, compactionInterval: compactionInterval, readers: readers)
        do {
            try store.writer.withSession { session in
                if create {
                    try PostgresSchema.create(.keys, tables: PostgresSchema.keysTables, vaultID: vaultID, in: session, location: location)
                } else {
                    let found = try PostgresSchema.check(.keys, in: session, location: location)
                    guard ConstantTime.equals(found, vaultID) else {
                        throw VaultError(.corruptVault, "the key database at \(location) belongs to another vault")
                    }
                    try PostgresSchema.checkWritable(.keys, in: session, location: location)
                }
            }
        } catch {
            store.writer.close()
            throw error
        }
        return store
    }

    // MARK: Reads

    package func wrappedKeys(patron: PatronPseudonym, records ids: [(id: RecordID, version: Int64)]) throws -> WrappedKeys {
        try lookups.withSession { session in
            let rows = try session.query(
                prepared: """
                SELECT p.pseudonym, p.kek_version, p.wrapped, p.record_set, r.record_id, r.version, r.wrapped
                FROM patron_key p LEFT JOIN record_key r ON r.pseudonym = p.pseudonym WHERE p.pseudonym = $1
                """, patron.bytes.byteaValue)
            let wanted = Dictionary(ids.map { ($0.id, $0.version) }, uniquingKeysWith: { first, _ in first })
            return try Self.wrappedKeys(rows) { id, version in wanted[id] == version }[patron] ?? WrappedKeys(
                patronKey: nil, recordSet: nil, recordKeyCount: 0, recordKeys: [:])
        }
    }

    package func wrappedKeys(patrons: [PatronPseudonym]) throws -> [PatronPseudonym: WrappedKeys] {
        guard !patrons.isEmpty else { return [:] }
        return try reader.withSession { session in
            let rows = try session.query("""
                SELECT p.pseudonym, p.kek_version, p.wrapped, p.record_set, r.record_id, r.version, r.wrapped
                FROM patron_key p LEFT JOIN record_key r ON r.pseudonym = p.pseudonym
                WHERE p.pseudonym = ANY(\(patrons.map(\.bytes.bytea)))
                """)
            return try Self.wrappedKeys(rows) { _, _ in true }
        }
    }

    /// Groups rows of (pseudonym, kek version, wrapped, set, record id, version, wrapped) by patron.
    private static func wrappedKeys(_ rows: [PostgresRow], keeping isWanted: (RecordID, Int64) -> Bool) throws -> [PatronPseudonym: WrappedKeys] {
        var patronKeys: [PatronPseudonym: (kekVersion: Int64, wrapped: [UInt8], set: RecordSetDigest?)] = [:]
        var counts: [PatronPseudonym: Int] = [:]
        var found: [PatronPseudonym: [RecordID: [UInt8]]] = [:]
        for row in rows {
            let cells = row.makeRandomAccess()
            let patron = PatronPseudonym(bytes: try cells.bytes(0))
            if patronKeys[patron] == nil {
                patronKeys[patron] = (try cells.int64(1), try cells.bytes(2), try cells.optionalBytes(3).map(RecordSetDigest.init(bytes:)))
            }
            guard let id = try cells.optionalBytes(4) else { continue }
            counts[patron, default: 0] += 1
            let record = RecordID(bytes: id)
            if isWanted(record, try cells.int64(5)) { found[patron, default: [:]][record] = try cells.bytes(6) }
        }
        var all: [PatronPseudonym: WrappedKeys] = [:]
        for (patron, key) in patronKeys {
            all[patron] = WrappedKeys(
                patronKey: (key.kekVersion, key.wrapped), recordSet: key.set, recordKeyCount: counts[patron] ?? 0, recordKeys: found[patron] ?? [:])
        }
        return all
    }

    /// One statement, so one snapshot: the set and every record key of the patron.
    package func recordKeys(patron: PatronPseudonym) throws -> StoredRecordKeys {
        try lookups.withSession { session in
            let rows = try session.query(
                prepared: """
                SELECT p.record_set, r.record_id, r.version, r.element, r.settled
                FROM (SELECT $1::bytea AS pseudonym) q
                LEFT JOIN patron_key p ON p.pseudonym = q.pseudonym
                LEFT JOIN record_key r ON r.pseudonym = q.pseudonym
                """, patron.bytes.byteaValue)
            var set: RecordSetDigest?
            var keys: [RecordOwner: StoredRecordKeys.Key] = [:]
            for row in rows {
                let cells = row.makeRandomAccess()
                set = try cells.optionalBytes(0).map(RecordSetDigest.init(bytes:))
                guard let id = try cells.optionalBytes(1) else { continue }
                let owner = RecordOwner(patron: patron, record: RecordID(bytes: id), version: try cells.int64(2))
                keys[owner] = StoredRecordKeys.Key(element: try cells.optionalBytes(3), settled: try cells.bool(4))
            }
            return StoredRecordKeys(recordSet: set, keys: keys)
        }
    }

    package func metadataValue(_ name: String) throws -> [UInt8]? {
        try writer.withSession { session in
            try session.query("SELECT value FROM key_meta WHERE name = \(name)").first.map { try $0.makeRandomAccess().bytes(0) }
        }
    }

    package func staffSeals() throws -> [String: [UInt8]] {
        try lookups.withSession { session in
            var seals: [String: [UInt8]] = [:]
            for row in try session.query("SELECT id, tag FROM staff_seal") {
                let cells = row.makeRandomAccess()
                seals[try cells.string(0)] = try cells.bytes(1)
            }
            return seals
        }
    }

    package func staffSeal(id: String) throws -> [UInt8]? {
        try lookups.withSession { session in try Self.staffSeal(id: id, in: session) }
    }

    /// Off the caller's thread: a token check waiting on the server holds no thread of the
    /// cooperative pool.
    package func readStaffSeal(id: String) async throws -> [UInt8]? {
        try await lookups.run { session in try Self.staffSeal(id: id, in: session) }
    }

    private static func staffSeal(id: String, in session: PostgresSession) throws -> [UInt8]? {
        try session.query(prepared: "SELECT tag FROM staff_seal WHERE id = $1", PostgresData(string: id)).first.map { try $0.makeRandomAccess().bytes(0) }
    }

    package func unsettled() throws -> [(owner: RecordOwner, element: [UInt8]?)] {
        try writer.withSession { session in
            try session.query("SELECT pseudonym, record_id, version, element FROM record_key WHERE NOT settled").map { row in
                let cells = row.makeRandomAccess()
                return (
                    RecordOwner(patron: PatronPseudonym(bytes: try cells.bytes(0)), record: RecordID(bytes: try cells.bytes(1)), version: try cells.int64(2)),
                    try cells.optionalBytes(3)
                )
            }
        }
    }

    package func hasUnsettled() throws -> Bool {
        try writer.withSession { session in
            try session.query("SELECT EXISTS (SELECT 1 FROM record_key WHERE NOT settled)").first?.makeRandomAccess().bool(0) ?? false
        }
    }

    package func counts() throws -> (patronKeys: Int, recordKeys: Int) {
        try writer.withSession { session in
            let cells = try session.query("SELECT (SELECT count(*) FROM patron_key), (SELECT count(*) FROM record_key)")[0].makeRandomAccess()
            return (Int(try cells.int64(0)), Int(try cells.int64(1)))
        }
    }

    package func owners() throws -> KeyOwners {
        try writer.withSession { session in
            var owners = KeyOwners()
            for row in try session.query("SELECT pseudonym FROM patron_key") {
                owners.patrons.insert(PatronPseudonym(bytes: try row.makeRandomAccess().bytes(0)))
            }
            for row in try session.query("SELECT pseudonym, record_id, version, settled FROM record_key") {
                let cells = row.makeRandomAccess()
                let owner = RecordOwner(patron: PatronPseudonym(bytes: try cells.bytes(0)), record: RecordID(bytes: try cells.bytes(1)), version: try cells.int64(2))
                owners.records.insert(owner)
                if try cells.bool(3) { owners.settled.insert(owner) }
            }
            return owners
        }
    }

    package func metadata() async throws -> [String: [UInt8]] {
        try await writer.run { session in
            var values: [String: [UInt8]] = [:]
            for row in try session.query("SELECT name, value FROM key_meta") {
                let cells = row.makeRandomAccess()
                values[try cells.string(0)] = try cells.bytes(1)
            }
            return values
        }
    }

    package func systemKeys() async throws -> [(name: String, kekVersion: Int64, wrapped: [UInt8])] {
        let rows = try await writer.run { session in
            try session.query("SELECT name, kek_version, wrapped FROM system_key ORDER BY name").map { row in
                let cells = row.makeRandomAccess()
                return SystemKey(name: try cells.string(0), kekVersion: try cells.int64(1), wrapped: try cells.bytes(2))
            }
        }
        return rows.map { ($0.name, $0.kekVersion, $0.wrapped) }
    }

    package func keyVersions() throws -> KeyVersionCounts {
        try writer.withSession { session in
            var counts = KeyVersionCounts()
            for row in try session.query("SELECT kek_version, count(*) FROM patron_key GROUP BY kek_version") {
                let cells = row.makeRandomAccess()
                counts.patronKeys[try cells.int64(0)] = Int(try cells.int64(1))
            }
            for row in try session.query("SELECT kek_version, count(*) FROM system_key GROUP BY kek_version") {
                let cells = row.makeRandomAccess()
                counts.systemKeys[try cells.int64(0)] = Int(try cells.int64(1))
            }
            counts.recordKeys = Int(try session.query("SELECT count(*) FROM record_key")[0].makeRandomAccess().int64(0))
            return counts
        }
    }

    // MARK: Writes

    package func insert(_ batch: KeyBatch) throws {
        guard !batch.isEmpty else { return }
        try writer.transaction { session in try Self.insert(batch, in: session) }
    }

    package func insertConcurrently(_ batch: KeyBatch) async throws {
        guard !batch.isEmpty else { return }
        try await writer.run { session in try session.transaction { session in try Self.insert(batch, in: session) } }
    }

    /// Each kind of row in one statement, whatever the batch's size.
    private static func insert(_ batch: KeyBatch, in session: PostgresSession) throws {
        if !batch.staffSeals.isEmpty {
            try session.execute("""
                INSERT INTO staff_seal (id, tag) SELECT * FROM unnest(\(batch.staffSeals.map(\.id))::text[], \(batch.staffSeals.map(\.tag.bytea))::bytea[])
                ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag
                """)
        }
        if !batch.patronKeys.isEmpty {
            let keys = batch.patronKeys
            try session.execute("""
                INSERT INTO patron_key (pseudonym, kek_version, wrapped, record_set)
                SELECT * FROM unnest(\(keys.map(\.patron.bytes.bytea))::bytea[], \(keys.map(\.kekVersion))::bigint[],
                    \(keys.map(\.wrapped.bytea))::bytea[], \(keys.map(\.recordSet.bytes.bytea))::bytea[])
                """)
        }
        if !batch.recordKeys.isEmpty {
            let keys = batch.recordKeys
            try session.execute("""
                INSERT INTO record_key (pseudonym, record_id, version, wrapped, element, settled)
                SELECT * FROM unnest(\(keys.map(\.patron.bytes.bytea))::bytea[], \(keys.map(\.record.bytes.bytea))::bytea[],
                    \(keys.map(\.version))::bigint[], \(keys.map(\.wrapped.bytea))::bytea[], \(keys.map(\.element.bytea))::bytea[],
                    \(keys.map(\.settled))::boolean[])
                """)
        }
    }

    package func remove(_ batch: KeyBatch) {
        try? delete(batch)
    }

    package func delete(_ batch: KeyBatch) throws {
        guard !batch.isEmpty else { return }
        try writer.transaction { session in
            if !batch.patronKeys.isEmpty {
                try session.execute("DELETE FROM patron_key WHERE pseudonym = ANY(\(batch.patronKeys.map(\.patron.bytes.bytea))::bytea[])")
            }
            if !batch.recordKeys.isEmpty {
                _ = try Self.deleteRecordKeys(batch.recordKeys.map(\.owner), in: session)
            }
            if !batch.staffSeals.isEmpty {
                try session.execute("DELETE FROM staff_seal WHERE id = ANY(\(batch.staffSeals.map(\.id))::text[])")
            }
        }
    }

    package func sealStaff(id: String, tag: [UInt8]) async throws {
        _ = try await writer.run { session in
            try session.execute("INSERT INTO staff_seal (id, tag) VALUES (\(id), \(tag.bytea)) ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag")
        }
    }

    package func settle(_ keys: [RecordOwner]) async throws {
        guard !keys.isEmpty else { return }
        try await writer.run { session in try session.transaction { session in try Self.settle(keys, in: session) } }
    }

    package func settleNow(_ keys: [RecordOwner]) throws {
        guard !keys.isEmpty else { return }
        try writer.transaction { session in try Self.settle(keys, in: session) }
    }

    /// Marks keys settled and adds their elements to their patrons' sets, each exactly once.
    private static func settle(_ keys: [RecordOwner], in session: PostgresSession) throws {
        let patrons = Set(keys.map(\.patron))
        let sets = try lockSets(of: patrons, in: session)
        let rows = try session.query("""
            UPDATE record_key r SET settled = true
            FROM unnest(\(keys.map(\.patron.bytes.bytea))::bytea[], \(keys.map(\.record.bytes.bytea))::bytea[], \(keys.map(\.version))::bigint[]) AS d(p, id, v)
            WHERE r.pseudonym = d.p AND r.record_id = d.id AND r.version = d.v AND NOT r.settled
            RETURNING r.pseudonym, r.element
            """)
        var changes: [PatronPseudonym: RecordSetDigest] = [:]
        for row in rows {
            let cells = row.makeRandomAccess()
            guard let element = try cells.optionalBytes(1) else { continue }
            changes[PatronPseudonym(bytes: try cells.bytes(0)), default: .empty].add(element)
        }
        try apply(changes, to: sets, in: session)
    }

    /// Locks the patron rows whose sets will change, in pseudonym order, and reads their sets.
    private static func lockSets(of patrons: Set<PatronPseudonym>, in session: PostgresSession) throws -> [PatronPseudonym: [UInt8]] {
        guard !patrons.isEmpty else { return [:] }
        var sets: [PatronPseudonym: [UInt8]] = [:]
        for row in try session.query("""
            SELECT pseudonym, record_set FROM patron_key WHERE pseudonym = ANY(\(patrons.map(\.bytes.bytea))::bytea[]) ORDER BY pseudonym FOR UPDATE
            """)
        {
            let cells = row.makeRandomAccess()
            sets[PatronPseudonym(bytes: try cells.bytes(0))] = try cells.optionalBytes(1) ?? []
        }
        return sets
    }

    /// Adds each patron's change (a sum of added elements minus removed ones) to their set.
    private static func apply(_ changes: [PatronPseudonym: RecordSetDigest], to sets: [PatronPseudonym: [UInt8]], in session: PostgresSession) throws {
        var patrons: [ByteBuffer] = []
        var updated: [ByteBuffer] = []
        for (patron, change) in changes {
            guard let stored = sets[patron] else { continue }
            var set = RecordSetDigest(bytes: stored)
            set.add(change.bytes)
            patrons.append(patron.bytes.bytea)
            updated.append(set.bytes.bytea)
        }
        guard !patrons.isEmpty else { return }
        try session.execute("""
            UPDATE patron_key SET record_set = d.s FROM unnest(\(patrons)::bytea[], \(updated)::bytea[]) AS d(p, s) WHERE pseudonym = d.p
            """)
    }

    /// Deletes record keys by owner; returns each deleted key's patron, element and whether it was settled.
    private static func deleteRecordKeys(_ owners: [RecordOwner], in session: PostgresSession) throws -> [(PatronPseudonym, [UInt8]?, Bool)] {
        try session.query("""
            DELETE FROM record_key r
            USING unnest(\(owners.map(\.patron.bytes.bytea))::bytea[], \(owners.map(\.record.bytes.bytea))::bytea[], \(owners.map(\.version))::bigint[]) AS d(p, id, v)
            WHERE r.pseudonym = d.p AND r.record_id = d.id AND r.version = d.v
            RETURNING r.pseudonym, r.element, r.settled
            """).map { row in
            let cells = row.makeRandomAccess()
            return (PatronPseudonym(bytes: try cells.bytes(0)), try cells.optionalBytes(1), try cells.bool(2))
        }
    }

    package func upgradeRecordSets(elements: [RecordOwner: [UInt8]], staffSeals: [(id: String, tag: [UInt8])], metadata: [String: [UInt8]]) throws {
        try writer.transaction { session in
            var batch = KeyBatch()
            batch.staffSeals = staffSeals
            try Self.insert(batch, in: session)
            let owners = Array(elements.keys)
            if !owners.isEmpty {
                try session.execute("""
                    UPDATE record_key r SET element = d.e, settled = true
                    FROM unnest(\(owners.map(\.patron.bytes.bytea))::bytea[], \(owners.map(\.record.bytes.bytea))::bytea[],
                        \(owners.map(\.version))::bigint[], \(owners.map { elements[$0]!.bytea })::bytea[]) AS d(p, id, v, e)
                    WHERE r.pseudonym = d.p AND r.record_id = d.id AND r.version = d.v
                    """)
            }
            var sets: [PatronPseudonym: RecordSetDigest] = [:]
            for (owner, element) in elements { sets[owner.patron, default: .empty].add(element) }
            try session.execute("UPDATE patron_key SET record_set = \(RecordSetDigest.empty.bytes.bytea)")
            let patrons = Array(sets.keys)
            if !patrons.isEmpty {
                try session.execute("""
                    UPDATE patron_key SET record_set = d.s
                    FROM unnest(\(patrons.map(\.bytes.bytea))::bytea[], \(patrons.map { sets[$0]!.bytes.bytea })::bytea[]) AS d(p, s) WHERE pseudonym = d.p
                    """)
            }
            for (name, value) in metadata {
                try session.execute("UPDATE key_meta SET value = \(value.bytea) WHERE name = \(name)")
            }
        }
    }

    // MARK: Destruction

    package func shred(_ shreds: [PendingShred]) async throws -> Bool {
        try await writer.run { session in
            let deleting = try session.transaction { session -> Int64 in
                let sets = try Self.lockSets(of: Set(shreds.map(\.patron)), in: session)
                var changes: [PatronPseudonym: RecordSetDigest] = [:]
                if !shreds.isEmpty {
                    let owners = shreds.map { RecordOwner(patron: $0.patron, record: $0.record, version: $0.version) }
                    for (patron, element, settled) in try Self.deleteRecordKeys(owners, in: session) where settled {
                        if let element { changes[patron, default: .empty].subtract(element) }
                    }
                }
                try Self.apply(changes, to: sets, in: session)
                return try PostgresHorizon.mark(in: session)
            }
            if !shreds.isEmpty { self.uncompacted.withLock { $0 = $0 ?? .now } }
            return try Self.vacuum(after: deleting, compacting: false, in: session)
        }
    }

    package func destroyPatronKeys(_ patrons: [PatronPseudonym]) async throws -> Bool {
        try await writer.run { session in
            let deleting = try session.transaction { session -> Int64 in
                if !patrons.isEmpty {
                    let list = patrons.map(\.bytes.bytea)
                    try session.execute("DELETE FROM record_key WHERE pseudonym = ANY(\(list)::bytea[])")
                    try session.execute("DELETE FROM patron_key WHERE pseudonym = ANY(\(list)::bytea[])")
                }
                return try PostgresHorizon.mark(in: session)
            }
            let done = try Self.vacuum(after: deleting, compacting: true, in: session)
            self.uncompacted.withLock { $0 = done ? nil : ($0 ?? .now) }
            return done
        }
    }

    /// Compacts the key tables now: what the maintenance pass runs at its interval, so the space
    /// of keys shredded since (freed by VACUUM, not always overwritten) is written over. False
    /// when a snapshot from before the last deletion kept the compaction from dropping them; the
    /// next pass tries again.
    @discardableResult
    package func compact() async throws -> Bool {
        try await writer.run { session in
            let done = try Self.vacuum(after: try PostgresHorizon.mark(in: session), compacting: true, in: session)
            self.uncompacted.withLock { $0 = done ? nil : ($0 ?? .now) }
            return done
        }
    }

    /// VACUUMs (or compacts) the key tables after a deletion committed in transaction `deleting`,
    /// and says whether the deleted rows are gone. Asked before the VACUUM: a snapshot older
    /// than the deletion, anywhere on the cluster, makes VACUUM keep
    /// (and VACUUM FULL copy) the rows it can see; a snapshot taken after the question cannot see
    /// them. False leaves the shred queued, or the compaction due, for the next pass.
    private static func vacuum(after deleting: Int64, compacting: Bool, in session: PostgresSession) throws -> Bool {
        let clear = try PostgresHorizon.isClear(after: deleting, in: session)
        try session.withoutAnswerTimeout { try session.execute(compacting ? "VACUUM FULL record_key, patron_key" : "VACUUM record_key, patron_key") }
        return clear
    }

    // MARK: Vault creation and master-key rotation

    package func create(metadata: [String: [UInt8]], systemKeys: [(name: String, kekVersion: Int64, wrapped: [UInt8])]) async throws {
        let values = metadata.map { MetadataValue(name: $0.key, value: $0.value) }
        let keys = systemKeys.map { SystemKey(name: $0.name, kekVersion: $0.kekVersion, wrapped: $0.wrapped) }
        try await writer.run { session in
            try session.transaction { session in
                for value in values {
                    try session.execute("INSERT INTO key_meta (name, value) VALUES (\(value.name), \(value.value.bytea))")
                }
                for key in keys {
                    try session.execute("INSERT INTO system_key (name, kek_version, wrapped) VALUES (\(key.name), \(key.kekVersion), \(key.wrapped.bytea))")
                }
            }
        }
    }

    package func replaceMetadata(setting values: [String: [UInt8]], removing names: [String]) throws {
        try writer.transaction { session in try Self.replace(values, removing: names, in: session) }
    }

    /// Walks `patron_key` in `row_id` order, as the SQLite store walks its rowids.
    package func rewrapPatronKeys(
        from: Int64, to: Int64, after rowID: Int64, limit: Int, _ rewrap: (PatronPseudonym, [UInt8]) throws -> [UInt8]
    ) throws -> (lastRowID: Int64, rewrapped: Int)? {
        try writer.transaction { session in
            let rows = try session.query("""
                SELECT row_id, pseudonym, kek_version, wrapped FROM patron_key WHERE row_id > \(rowID) ORDER BY row_id LIMIT \(Int64(limit)) FOR UPDATE
                """)
            var ids: [Int64] = []
            var wrapped: [ByteBuffer] = []
            var last: Int64?
            for row in rows {
                let cells = row.makeRandomAccess()
                last = try cells.int64(0)
                switch try cells.int64(2) {
                case from:
                    ids.append(try cells.int64(0))
                    wrapped.append(try rewrap(PatronPseudonym(bytes: try cells.bytes(1)), try cells.bytes(3)).bytea)
                case to: continue
                default: throw VaultError.integrity
                }
            }
            guard let last else { return nil }
            if !ids.isEmpty {
                try session.execute("""
                    UPDATE patron_key SET kek_version = \(to), wrapped = d.w FROM unnest(\(ids)::bigint[], \(wrapped)::bytea[]) AS d(id, w) WHERE row_id = d.id
                    """)
            }
            return (last, ids.count)
        }
    }

    package func finishRotation(to version: Int64, systemKeys: [(name: String, wrapped: [UInt8])], setting values: [String: [UInt8]], removing names: [String]) throws {
        try writer.transaction { session in
            let left = try session.query("SELECT count(*) FROM patron_key WHERE kek_version <> \(version)")[0].makeRandomAccess().int64(0)
            guard left == 0 else {
                throw VaultError(.storageFailure, "\(left) patron keys are not yet wrapped under the new master key; the rotation was not finished")
            }
            for key in systemKeys { try Self.update(SystemKey(name: key.name, kekVersion: version, wrapped: key.wrapped), in: session) }
            try Self.replace(values, removing: names, in: session)
        }
        // The old wrapped keys leave the tables' pages too.
        try writer.withSession { session in _ = try session.withoutAnswerTimeout { try session.execute("VACUUM FULL patron_key, system_key") } }
    }

    package func replaceSystemKey(name: String, kekVersion: Int64, wrapped: [UInt8], setting values: [String: [UInt8]]) throws {
        try writer.transaction { session in
            try Self.update(SystemKey(name: name, kekVersion: kekVersion, wrapped: wrapped), in: session)
            try Self.replace(values, removing: [], in: session)
        }
        try writer.withSession { session in _ = try session.withoutAnswerTimeout { try session.execute("VACUUM FULL system_key") } }
    }

    private static func update(_ key: SystemKey, in session: PostgresSession) throws {
        let changed = try session.execute("UPDATE system_key SET kek_version = \(key.kekVersion), wrapped = \(key.wrapped.bytea) WHERE name = \(key.name)")
        guard changed == 1 else { throw VaultError(.corruptVault, "the key store is missing system keys") }
    }

    private static func replace(_ values: [String: [UInt8]], removing names: [String], in session: PostgresSession) throws {
        for (name, value) in values {
            try session.execute("INSERT INTO key_meta (name, value) VALUES (\(name), \(value.bytea)) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value")
        }
        if !names.isEmpty { try session.execute("DELETE FROM key_meta WHERE name = ANY(\(names)::text[])") }
    }

    // MARK: Files and lifetime

    /// The key database as the embedded store's `keys.db`, every table read in one snapshot on a
    /// connection of its own.
    package func backupSnapshot(to path: String) throws -> any BackupSnapshot {
        try PostgresBackupSnapshot(on: reader.sibling(), tables: PostgresMigration.keyTables, path: path, migrator: SQLiteSchema.keysMigrator)
    }

    /// The maintenance pass: PostgreSQL checkpoints on its own, so what is left is to compact the
    /// key tables once shredded keys have waited `compactionInterval` for it.
    package func checkpoint() async throws {
        guard let since = uncompacted.withLock({ $0 }), since.duration(to: .now) >= compactionInterval else { return }
        _ = try await compact()
    }

    package func close() async throws {
        closeLinks()
    }

    func closeLinks() {
        lookups.close()
        reader.close()
        writer.close()
    }
}

private struct SystemKey: Sendable {
    let name: String
    let kekVersion: Int64
    let wrapped: [UInt8]
}

private struct MetadataValue: Sendable {
    let name: String
    let value: [UInt8]
}
