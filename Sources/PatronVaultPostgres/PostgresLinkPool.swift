import Foundation
import PatronVaultCore
import PostgresNIO
import Synchronization

/// A fixed number of links to one database, lent out one caller at a time: reads take one for
/// their snapshot, a bulk write for its long transaction. A caller finding none free waits for
/// the next returned. Links connect when first used and reconnect after a drop.
final class PostgresLinkPool: Sendable {
    private let state: Mutex<(free: [PostgresLink], waiting: [CheckedContinuation<PostgresLink, any Error>], closed: Bool)>
    private let all: [PostgresLink]
    private let name: String

    init(location: PostgresLocation, name: String, size: Int, claim: PostgresClaim? = nil) {
        all = (0..<size).map { _ in PostgresLink(location, name: name, claim: claim) }
        self.name = name
        state = Mutex((all, [], false))
    }

    func exclusive() async throws -> PostgresLink {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<PostgresLink, any Error>? in
                guard !state.closed else { return .failure(VaultError.storage("\(name) is closed")) }
                if let link = state.free.popLast() { return .success(link) }
                state.waiting.append(continuation)
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }

    func giveBack(_ link: PostgresLink) {
        let waiter = state.withLock { state -> CheckedContinuation<PostgresLink, any Error>? in
            guard !state.waiting.isEmpty else {
                state.free.append(link)
                return nil
            }
            return state.waiting.removeFirst()
        }
        waiter?.resume(returning: link)
    }

    /// A new link beside the pool's (same database, same claim), for one long read of its own.
    func sibling() -> PostgresLink {
        all[0].sibling()
    }

    func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<PostgresLink, any Error>] in
            state.closed = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for waiter in waiters { waiter.resume(throwing: VaultError.storage("\(name) is closed")) }
        for link in all { link.close() }
    }
}

/// Links to one database for one-statement reads made from synchronous code: a read takes the
/// first free link, or waits its turn on one when all are busy. The first is a link the store
/// has anyway (its writer) and the others connect when first needed, so a command that reads
/// one row at a time opens no connection more.
final class PostgresLinkSet: Sendable {
    private let links: [PostgresLink]
    private let turn = Atomic<Int>(0)

    init(first: PostgresLink, location: PostgresLocation, name: String, size: Int) {
        links = [first] + (1..<max(1, size)).map { _ in PostgresLink(location, name: name) }
    }

    func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        for link in links {
            if let result = try link.withSessionIfFree(body) { return result }
        }
        // All busy: wait on one of the set's own links, never behind a key write on the first.
        let own = links.count > 1 ? links.dropFirst() : links[...]
        let next = turn.add(1, ordering: .relaxed).oldValue
        return try own[own.startIndex + next % own.count].withSession(body)
    }

    /// The same, off the caller's task (see `PostgresLink.run`).
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.withSession(body) })
            }
        }
    }

    /// Closes the links this set made (not the first).
    func close() {
        for link in links.dropFirst() { link.close() }
    }
}

/// Whether rows deleted by a transaction are out of every snapshot's reach.
enum PostgresHorizon {
    /// The current transaction id, taken just after a deletion committed.
    static func mark(in session: PostgresSession) throws -> Int64 {
        try session.query("SELECT txid_current()")[0].makeRandomAccess().int64(0)
    }

    /// False while another session anywhere on the cluster, or a replication slot, holds a
    /// snapshot from before `transaction`: VACUUM leaves the rows that snapshot can see. Sessions
    /// of other databases count too, since some do for VACUUM (one still starting up does, and
    /// the erasure test fails under the suite's load in other databases when only this one is asked), and asking too widely only
    /// delays a compaction to the next pass.
    static func isClear(after transaction: Int64, in session: PostgresSession) throws -> Bool {
        // Both ages count from the same next transaction id, so they compare as the 64-bit ids
        // would; the number is this store's own, written into the statement as a literal.
        let mark = "'\(transaction % 4_294_967_296)'::xid"
        let rows = try session.query(PostgresQuery(unsafeSQL: """
            SELECT EXISTS (
                SELECT 1 FROM pg_stat_activity
                WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL
                    AND age(backend_xmin) >= age(\(mark))
            ) OR EXISTS (
                SELECT 1 FROM pg_replication_slots WHERE xmin IS NOT NULL AND age(xmin) >= age(\(mark))
            )
            """))
        return !(try rows[0].makeRandomAccess().bool(0))
    }
}
