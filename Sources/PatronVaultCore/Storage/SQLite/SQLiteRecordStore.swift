import Foundation
import GRDB

/// `vault.db` behind one writer and a pool of readers (WAL), so an audit verification on a
/// reader never blocks the writes that lookups make.
struct SQLiteRecordStore: RecordStore {
    let pool: DatabasePool
    let turns: WriterTurns
    let group: GroupCommit

    init(pool: DatabasePool) {
        self.pool = pool
        turns = WriterTurns()
        group = GroupCommit(turns: turns, pool: pool)
    }

    /// The transaction runs on the thread of the caller that leads its group once it has the
    /// writer's turn; callers that arrive while the writer is busy share the next transaction
    /// (`GroupCommit`), each in its own savepoint, and are answered after its commit. Waiting for
    /// another process's write lock (SQLite's busy timeout) does block that thread: the daemon is
    /// meant to be the only writer, so that wait is for host administration only.
    func write<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordTransaction) throws -> T) async throws -> T {
        try await SQLiteStorage.translating {
            try await group.write { db in try body(SQLiteRecordTransaction(db: db)) }
        }
    }

    /// Begins the transaction and runs `body` on this thread while the prerequisite runs on its
    /// own; the transaction stays open (on the writer, whose turn this task holds) until the
    /// prerequisite is done, then commits, or rolls back if either failed.
    ///
    /// The prerequisite (committing the keys) starts only once `BEGIN IMMEDIATE` holds the write
    /// lock: an orphan sweep in another process, which compares the two files under that lock,
    /// must never find these keys committed and their records not yet written.
    func write<T: Sendable>(
        _ pass: GatePass, committingAfter prerequisite: @escaping @Sendable () async throws -> Void,
        _ body: @escaping @Sendable (any RecordTransaction) throws -> T
    ) async throws -> T {
        try await SQLiteStorage.translating {
            try await turns.run { () async throws -> T in
                try onWriter { db in try db.beginTransaction(.immediate) }
                async let ready: Void = prerequisite()
                let result: T
                do {
                    result = try onWriter { db in
                        do {
                            return try body(SQLiteRecordTransaction(db: db))
                        } catch {
                            try? db.rollback()
                            throw error
                        }
                    }
                } catch {
                    try? await ready
                    throw error
                }
                do {
                    try await ready
                } catch {
                    try? onWriter { db in try db.rollback() }
                    throw error
                }
                try onWriter { db in
                    do {
                        try db.commit()
                    } catch {
                        try? db.rollback()
                        throw error
                    }
                }
                return result
            }
        }
    }

    /// A synchronous turn on the writer connection (the caller holds the writer's turn).
    private func onWriter<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction(body)
    }

    private func writeOnWriter<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write(body)
    }

    /// Begins, commits and rolls back through statements prepared once per connection: GRDB's
    /// `inTransaction` compiles `BEGIN` and `COMMIT` anew on every call, and every lookup is a
    /// write transaction.
    private func transaction<T>(_ body: (SQLiteRecordTransaction) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            // IMMEDIATE: another process's writer waits here, never half-way through.
            try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
            let result: T
            do {
                result = try body(SQLiteRecordTransaction(db: db))
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } catch {
                if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
                throw error
            }
            return result
        }
    }

    func read<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T {
        try await SQLiteStorage.translating {
            try await pool.read { db in try body(SQLiteRecordTransaction(db: db)) }
        }
    }

    func holdingWriteLock<T: Sendable>(_ body: @escaping @Sendable (any RecordInventory) throws -> T) async throws -> T {
        try await SQLiteStorage.translating {
            try await turns.run { () throws -> T in try transaction { try body($0) } }
        }
    }

    func pendingShreds() async throws -> [PendingShred] {
        // On the writer: a tiny read, and no hop to a reader thread after every destroying return.
        try await SQLiteStorage.translating {
            try await turns.run {
                try onWriter { db in
                    let query = RawStatement(try db.cachedStatement(sql: "SELECT record_id, patron, version, tag FROM pending_shred"), in: db)
                    defer { query.reset() }
                    var shreds: [PendingShred] = []
                    while try query.step() {
                        shreds.append(PendingShred(
                            record: RecordID(bytes: query.bytes(0)), patron: PatronPseudonym(bytes: query.bytes(1)),
                            version: query.int64(2), tag: query.optionalBytes(3) ?? []))
                    }
                    return shreds
                }
            }
        }
    }

    func clearShreds(_ done: [PendingShred]) async throws {
        try await SQLiteStorage.translating {
            try await turns.run {
                try writeOnWriter { db in try SQLiteRecordTransaction(db: db).clearShreds(done) }
            }
        }
    }

    func purgeResidue() async throws -> Bool {
        try await SQLiteStorage.translating {
            try await turns.run { try onWriter { db in try SQLiteStorage.truncateWAL(db) } }
        }
    }

    /// Reads under the write lock cost microseconds here, so a lookup keeps them there.
    var readsLookupsOnSnapshots: Bool { false }

    /// Takes the writer's turn, so it never lands inside a bulk write's open transaction.
    func close() async throws {
        try await turns.run { try await pool.closeTruncatingWAL() }
    }
}

extension SQLiteStorage {
    /// Runs a store call and turns any failure into a `VaultError` sentence.
    static func translating<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw translate(error)
        }
    }

    /// Checkpoints and truncates the WAL, so no copy of a deleted row survives there
    /// (`secure_delete` has already zeroed it in the main file). False when a reader held it.
    ///
    /// It does not wait for readers: the connection's busy timeout is set to zero for the call,
    /// since the writer is held meanwhile and every other request would wait with it. A reader in
    /// the way leaves the truncation to the next pass.
    static func truncateWAL(_ db: Database) throws -> Bool {
        let timeout = try Int.fetchOne(db, sql: "PRAGMA busy_timeout") ?? 0
        try db.execute(sql: "PRAGMA busy_timeout = 0")
        defer { try? db.execute(sql: "PRAGMA busy_timeout = \(timeout)") }
        return try Row.fetchOne(db.cachedStatement(sql: "PRAGMA wal_checkpoint(TRUNCATE)")).map { ($0[0] as Int) == 0 } ?? false
    }
}

extension DatabaseWriter {
    /// Folds the WAL into the main file without waiting for readers.
    func passiveCheckpoint() async throws {
        try await SQLiteStorage.translating {
            try await writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        }
    }

    /// Truncates the WAL, then closes: the files left behind are whole on their own.
    func closeTruncatingWAL() async throws {
        _ = try? await writeWithoutTransaction { db in try SQLiteStorage.truncateWAL(db) }
        try close()
    }
}
