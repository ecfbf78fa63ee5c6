import GRDB
import Synchronization

/// Write transactions from many callers committed together (group commit). Every audited lookup
/// is a write (its audit entries must commit before it answers), so under load callers queue for
/// the one writer; the first to find it free leads: it takes every waiting caller's work, runs each
/// in its own savepoint of one transaction (a failure undoes only that caller's changes), commits
/// once, and only then answers each caller. Alone, a caller's work runs in its own transaction as
/// before, with no savepoint.
final class GroupCommit: Sendable {
    /// Most callers' work in one transaction, so one commit never waits on an unbounded queue.
    static let largestGroup = 64

    private let turns: WriterTurns
    private let pool: DatabasePool
    private let state = Mutex<(leading: Bool, queue: [Job])>((false, []))
    private let transactions = Mutex(0)

    /// Transactions begun so far: fewer than the writes when groups formed.
    var transactionCount: Int { transactions.withLock { $0 } }

    /// Callers waiting for the next group.
    var waitingCount: Int { state.withLock { $0.queue.count } }

    init(turns: WriterTurns, pool: DatabasePool) {
        self.turns = turns
        self.pool = pool
    }

    /// Runs `body` in a write transaction, possibly shared with other callers', and returns once
    /// that transaction has committed (or throws what failed: the body, or the commit).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let box = ResultBox<T>()
        let job = Job { db in
            do {
                box.set(.success(try body(db)))
                return nil
            } catch {
                box.set(.failure(error))
                return error
            }
        } fail: { error in
            box.set(.failure(error))
        }
        let leads = state.withLock { state -> Bool in
            state.queue.append(job)
            guard !state.leading else { return false }
            state.leading = true
            return true
        }
        if leads {
            await turns.run { lead() }
        } else {
            await job.finished()
        }
        return try box.get()
    }

    /// Runs groups until the queue is empty, then gives up the lead (in the same locked step as
    /// finding the queue empty, so a caller arriving after leads itself).
    private func lead() {
        while true {
            let group = state.withLock { state -> [Job] in
                guard !state.queue.isEmpty else {
                    state.leading = false
                    return []
                }
                let taken = Array(state.queue.prefix(Self.largestGroup))
                state.queue.removeFirst(taken.count)
                return taken
            }
            guard !group.isEmpty else { return }
            commit(group)
            for job in group { job.finish() }
        }
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

    /// One caller's work and its wait for the group's commit.
    private final class Job: Sendable {
        /// Runs the work on the writer; returns its error, if it failed.
        let run: @Sendable (Database) -> (any Error)?
        let fail: @Sendable (any Error) -> Void
        private let waiting = Mutex<(done: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

        init(run: @escaping @Sendable (Database) -> (any Error)?, fail: @escaping @Sendable (any Error) -> Void) {
            self.run = run
            self.fail = fail
        }

        func finished() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = waiting.withLock { state -> Bool in
                    if state.done { return true }
                    state.continuation = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        }

        func finish() {
            let continuation = waiting.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume()
        }
    }

    /// Where a caller's result waits for the commit.
    private final class ResultBox<T: Sendable>: Sendable {
        private let value = Mutex<Result<T, any Error>?>(nil)

        func set(_ result: Result<T, any Error>) { value.withLock { $0 = result } }

        func get() throws -> T {
            guard let result = value.withLock({ $0 }) else { throw DatabaseError(resultCode: .SQLITE_MISUSE) }
            return try result.get()
        }
    }
}
