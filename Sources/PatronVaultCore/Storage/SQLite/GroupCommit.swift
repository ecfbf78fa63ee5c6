import GRDB
import Synchronization

/// Write transactions from many callers committed together (group commit). Every audited lookup
/// is a write (its audit entries must commit before it answers), so under load callers queue for
/// the one writer; the first to find it free leads: it takes every waiting caller's work, runs each
/// in its own savepoint of one transaction (a failure undoes only that caller's changes), commits
/// once, and only then answers each caller. Alone, a caller's work runs in its own transaction as
/// before, with no savepoint.
final class GroupCommit: Sendable {
    private let turns: WriterTurns
    private let pool: DatabasePool
    private typealias Job = GroupWriteJob<Database>
    private let queue = GroupWriteQueue<Database>()
    private let transactions = Mutex(0)

    /// Transactions begun so far: fewer than the writes when groups formed.
    var transactionCount: Int { transactions.withLock { $0 } }

    /// Callers waiting for the next group.
    var waitingCount: Int { queue.waitingCount }

    init(turns: WriterTurns, pool: DatabasePool) {
        self.turns = turns
        self.pool = pool
    }

    /// Runs `body` in a write transaction, possibly shared with other callers', and returns once
    /// that transaction has committed (or throws what failed: the body, or the commit).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let box = GroupWriteResult<T>()
        let job = Job(box, body)
        if queue.enqueue(job) {
            await turns.run { queue.lead(commit) }
        } else {
            await job.finished()
        }
        return try box.get()
    }

    private func commit(_ group: [Job]) {
        transactions.withLock { $0 += 1 }
        do {
            try pool.writeWithoutTransaction { db in
                // IMMEDIATE: another process's writer waits here, never half-way through.
                try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
                do {
                    if group.count == 1 {
                        if let error = group[0].run(db) { throw error }
                    } else {
                        for job in group {
                            try db.cachedStatement(sql: "SAVEPOINT group_member").execute()
                            if job.run(db) != nil {
                                // The transaction itself lost (SQLite rolled it back): nothing of
                                // the group survives, so no member may be told it committed.
                                guard db.isInsideTransaction else { throw GroupLost() }
                                try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT group_member").execute()
                            }
                            try db.cachedStatement(sql: "RELEASE SAVEPOINT group_member").execute()
                        }
                    }
                    try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                } catch {
                    if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
                    throw error
                }
            }
        } catch {
            // Nothing committed: every member fails, those whose work had succeeded included.
            for job in group { job.fail(error is GroupLost ? DatabaseError(resultCode: .SQLITE_ABORT) : error) }
        }
    }

    private struct GroupLost: Error {}
}
