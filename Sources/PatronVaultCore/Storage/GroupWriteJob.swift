import Synchronization

/// One caller's work in a group commit and its wait for the group's commit: the SQLite store's
/// and the PostgreSQL store's groups are the same protocol over a different transaction.
package final class GroupWriteJob<Transaction>: Sendable {
    /// Runs the work inside the group's transaction; returns its error, if it failed.
    package let run: @Sendable (Transaction) -> (any Error)?
    package let fail: @Sendable (any Error) -> Void
    private let waiting = Mutex<(done: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    package init(run: @escaping @Sendable (Transaction) -> (any Error)?, fail: @escaping @Sendable (any Error) -> Void) {
        self.run = run
        self.fail = fail
    }

    /// A job whose result lands in `box`: the body's value or error, or the group's failure.
    package convenience init<T: Sendable>(_ box: GroupWriteResult<T>, _ body: @escaping @Sendable (Transaction) throws -> T) {
        self.init { transaction in
            do {
                box.set(.success(try body(transaction)))
                return nil
            } catch {
                box.set(.failure(error))
                return error
            }
        } fail: { error in
            box.set(.failure(error))
        }
    }

    /// Waits until the group this job ran in has committed or failed.
    package func finished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = waiting.withLock { state -> Bool in
                if state.done { return true }
                state.continuation = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    package func finish() {
        let continuation = waiting.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }
}

/// Where a caller's result waits for the group's commit.
package final class GroupWriteResult<T: Sendable>: Sendable {
    private let value = Mutex<Result<T, any Error>?>(nil)

    package init() {}

    package func set(_ result: Result<T, any Error>) { value.withLock { $0 = result } }

    package func get() throws -> T {
        guard let result = value.withLock({ $0 }) else { throw VaultError.storage("the write was not carried out") }
        return try result.get()
    }
}

/// The callers waiting for a writer, and which of them leads: the first to find the writer free
/// leads, takes up to `largestGroup` waiting jobs at a time into one transaction, and gives the
/// lead up in the same locked step as finding the queue empty, so a caller arriving after leads
/// itself.
package final class GroupWriteQueue<Transaction>: Sendable {
    package typealias Job = GroupWriteJob<Transaction>
    /// Most callers' work in one transaction, so one commit never waits on an unbounded queue.
    package static var largestGroup: Int { 64 }

    private let state = Mutex<(leading: Bool, queue: [Job])>((false, []))

    package init() {}

    /// Callers waiting for the next group.
    package var waitingCount: Int { state.withLock { $0.queue.count } }

    /// Queues `job`; true when the caller is to lead (call `lead`), false when it is to wait.
    package func enqueue(_ job: Job) -> Bool {
        state.withLock { state -> Bool in
            state.queue.append(job)
            guard !state.leading else { return false }
            state.leading = true
            return true
        }
    }

    /// Commits groups with `commit` until the queue is empty, answering each group's callers
    /// once its commit is done.
    package func lead(_ commit: ([Job]) -> Void) {
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

    /// Fails every waiting job and gives up the lead: the leader could not reach its writer.
    package func failAll(with error: any Error) {
        let jobs = state.withLock { state -> [Job] in
            state.leading = false
            defer { state.queue.removeAll() }
            return state.queue
        }
        for job in jobs {
            job.fail(error)
            job.finish()
        }
    }
}
