import Foundation
import PatronVaultAudit
import PatronVaultCore
import PostgresNIO

/// The records database on PostgreSQL: one writer connection per process and a pool of readers.
///
/// Every write transaction begins by locking the audit state row (`FOR UPDATE`): the write lock
/// of the whole vault, across every daemon on the database, as SQLite's file lock is on one host.
/// A writer therefore never sits between committing keys and committing the records that need
/// them while an orphan sweep in another process compares the two databases.
///
/// Callers that arrive while the writer is busy share its next transaction (group commit), each
/// in its own savepoint, and are answered after the one commit: PostgreSQL pays a network round
/// trip and a WAL flush per commit, which a group pays once.
package final class PostgresRecordStore: RecordStore {
    let writer: PostgresLink
    let readers: PostgresLinkPool
    private let queue = GroupWriteQueue<PostgresRecordTransaction>()

    /// `claim` is what every connection claims of the vault (`PostgresClaim`): in an exclusive
    /// open, the writer claims it alone and this process's readers claim nothing.
    init(location: PostgresLocation, readers: Int, claim: PostgresClaim? = nil) {
        writer = PostgresLink(location, name: PostgresSchema.Role.records.storeName, claim: claim)
        let readerClaim: PostgresClaim? = if case .shared = claim { claim } else { nil }
        self.readers = PostgresLinkPool(location: location, name: PostgresSchema.Role.records.storeName, size: max(1, readers), claim: readerClaim)
    }

    package func write<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordTransaction) throws -> T) async throws -> T {
        let box = GroupWriteResult<T>()
        let job = PostgresWriteJob(box) { transaction in try body(transaction) }
        if queue.enqueue(job) {
            do {
                try await writer.run { [self] session in queue.lead { commit($0, in: session) } }
            } catch {
                // The writer could not connect: fail the waiting callers, this one included; the
                // next caller leads again.
                queue.failAll(with: writer.translate(error))
            }
        } else {
            await job.finished()
        }
        do {
            return try box.get()
        } catch {
            throw writer.translate(error)
        }
    }

    private func commit(_ jobs: [PostgresWriteJob], in session: PostgresSession) {
        do {
            try Self.writeTransaction(in: session) { transaction in
                if jobs.count == 1 {
                    if let error = jobs[0].run(transaction) { throw error }
                    return
                }
                for job in jobs {
                    _ = try? transaction.savepoint {
                        if let error = job.run(transaction) { throw error }
                    }
                }
            }
        } catch {
            let failure = writer.translate(error)
            for job in jobs { job.fail(failure) }
        }
    }

    /// BEGIN and the write lock (the audit state row) waited for together, the body, then the
    /// entries with the state row and COMMIT, waited for together; ROLLBACK if anything failed.
    static func writeTransaction<T>(in session: PostgresSession, _ body: (PostgresRecordTransaction) throws -> T) throws -> T {
        let opening = try session.pipeline([.text("BEGIN"), .prepared(PostgresAudit.lockStatement, [])])
        do {
            if let error = opening[0].error { throw error }
            let locked = try opening[1].get()
            let transaction = PostgresRecordTransaction(
                session: session, auditState: try PostgresAudit.lockedState(locked), changeMark: try PostgresAudit.lockedMark(locked))
            let result = try body(transaction)
            try transaction.commit()
            return result
        } catch {
            if !session.connection.isClosed { _ = try? session.execute("ROLLBACK") }
            throw error
        }
    }

    /// Holds the write lock while `prerequisite` (committing the keys) runs beside `body`, and
    /// commits only once both are done.
    package func write<T: Sendable>(
        _ pass: GatePass, committingAfter prerequisite: @escaping @Sendable () async throws -> Void,
        _ body: @escaping @Sendable (any RecordTransaction) throws -> T
    ) async throws -> T {
        let link = try await readers.exclusive()
        defer { readers.giveBack(link) }
        let transaction = try await link.run { session -> PostgresOpenTransaction in
            try session.execute("BEGIN")
            let identity = ObjectIdentifier(session.connection)
            do {
                let (state, mark) = try PostgresAudit.lockState(in: session)
                return PostgresOpenTransaction(
                    transaction: PostgresRecordTransaction(session: session, auditState: state, changeMark: mark), connection: identity)
            } catch {
                _ = try? session.execute("ROLLBACK")
                throw error
            }
        }
        async let ready: Void = prerequisite()
        let result: T
        do {
            result = try await link.run { session in
                try transaction.check(session)
                return try body(transaction.transaction)
            }
        } catch {
            try? await ready
            _ = try? await link.run { session in try session.execute("ROLLBACK") }
            throw error
        }
        do {
            try await ready
        } catch {
            _ = try? await link.run { session in try session.execute("ROLLBACK") }
            throw error
        }
        try await link.run { session in
            do {
                try transaction.check(session)
                try transaction.transaction.commit()
            } catch {
                _ = try? session.execute("ROLLBACK")
                throw error
            }
        }
        return result
    }

    package func read<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T {
        let link = try await readers.exclusive()
        defer { readers.giveBack(link) }
        return try await link.run { session in try Self.snapshot(in: session, body) }
    }

    /// `body` in a read-only snapshot on `session`.
    private static func snapshot<T>(in session: PostgresSession, _ body: (any RecordReader) throws -> T) throws -> T {
        // The BEGIN travels with the body's first statement; a body that sends none begins nothing.
        session.sendWithNext("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let result = try body(PostgresRecordTransaction(session: session, auditState: nil))
            // A read-only transaction has nothing to commit: its end is sent without waiting
            // for the answer, and the link's next statement queues behind it.
            if session.hasUnsent { session.dropUnsent() } else { session.sendWithoutWaiting("COMMIT") }
            return result
        } catch {
            if session.hasUnsent { session.dropUnsent() } else { session.sendWithoutWaiting("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` without a transaction, allowed one statement (its own snapshot): a lookup by
    /// card reads the patron, their records and the change mark in one. A body that needs a
    /// second statement is stopped before sending it and run again in a snapshot.
    package func readLookup<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T {
        let link = try await readers.exclusive()
        defer { readers.giveBack(link) }
        return try await link.run { session in
            session.statementsLeft = 1
            defer { session.statementsLeft = nil }
            do {
                return try body(PostgresRecordTransaction(session: session, auditState: nil))
            } catch is PostgresSession.StatementLimitReached {
                session.statementsLeft = nil
                return try Self.snapshot(in: session, body)
            }
        }
    }

    /// One statement on a reader link, outside any snapshot: a single row needs none.
    package func staffRow(_ pass: GatePass, tokenHash: [UInt8]) async throws -> StaffRow? {
        let link = try await readers.exclusive()
        defer { readers.giveBack(link) }
        return try await link.run { session in try PostgresRecordTransaction(session: session, auditState: nil).staff(tokenHash: tokenHash) }
    }

    package func holdingWriteLock<T: Sendable>(_ body: @escaping @Sendable (any RecordInventory) throws -> T) async throws -> T {
        try await writer.run { [readers] session in
            try Self.writeTransaction(in: session) { transaction in
                transaction.backupLink = { readers.sibling() }
                return try body(transaction)
            }
        }
    }

    package func pendingShreds() async throws -> [PendingShred] {
        try await writer.run { session in
            try session.query("SELECT record_id, patron, version, tag FROM pending_shred").map { row in
                let cells = row.makeRandomAccess()
                return PendingShred(
                    record: RecordID(bytes: try cells.bytes(0)), patron: PatronPseudonym(bytes: try cells.bytes(1)), version: try cells.int64(2),
                    tag: try cells.optionalBytes(3) ?? [])
            }
        }
    }

    package func clearShreds(_ done: [PendingShred]) async throws {
        guard !done.isEmpty else { return }
        try await writer.run { session in
            try session.transaction { session in try PostgresRecordTransaction(session: session, auditState: nil).clearShreds(done) }
        }
    }

    /// VACUUMs the tables whose rows are deleted or rewritten (old record versions, erased
    /// patrons, queued shreds), so no dead row stays readable as a row. A deleted row's bytes can
    /// stay in the page's free space until the space is reused or the table is compacted; they
    /// are ciphertext under destroyed keys and blind indexes of what was erased, and SECURITY.md
    /// says how long compaction leaves them. False while an older snapshot keeps them alive.
    package func purgeResidue() async throws -> Bool {
        try await writer.run { session in
            let clear = try PostgresHorizon.isClear(after: try PostgresHorizon.mark(in: session), in: session)
            try session.withoutAnswerTimeout { try session.execute("VACUUM record, patron, pending_shred, pin_attempt") }
            return clear
        }
    }

    /// Each read under the write lock is a round trip to the server, which every other writer
    /// would wait out: a lookup reads on a reader snapshot instead.
    package var readsLookupsOnSnapshots: Bool { true }

    package func close() async throws {
        readers.close()
        writer.close()
    }
}

/// A transaction begun on a link and finished by later calls on the same link.
private struct PostgresOpenTransaction: @unchecked Sendable {
    let transaction: PostgresRecordTransaction
    let connection: ObjectIdentifier

    /// A later step on a new connection (the old one dropped) would run outside the transaction.
    func check(_ session: PostgresSession) throws {
        guard ObjectIdentifier(session.connection) == connection else {
            throw VaultError.storage("the connection to the records database was lost; nothing was written")
        }
    }
}

/// One caller's work in a group of the records database's writer.
typealias PostgresWriteJob = GroupWriteJob<PostgresRecordTransaction>
