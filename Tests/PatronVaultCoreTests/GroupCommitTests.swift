import Foundation
import GRDB
import Testing
@testable import PatronVaultCore

/// Group commit on a real SQLite file: concurrent writers share transactions, a failing writer's
/// changes are undone while the rest of its group commits, and every caller gets its own result.
@Suite("Group commit")
struct GroupCommitTests {
    struct Refused: Error {}

    @Test("200 concurrent writes form groups; the ones that fail leave nothing behind; the rest all commit")
    func groupsAndFailures() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pv-group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabasePool(path: directory.appendingPathComponent("g.db").path)
        try await pool.write { db in try db.execute(sql: "CREATE TABLE t(x INTEGER NOT NULL UNIQUE, note TEXT)") }
        let turns = WriterTurns()
        let group = GroupCommit(turns: turns, pool: pool)
        // The test holds the writer's turn (suspended, blocking no thread) until all 200 writes
        // have queued, so groups form however the tasks are scheduled.
        let (taken, tookTurn) = AsyncStream<Void>.makeStream()
        let (release, letGo) = AsyncStream<Void>.makeStream()
        async let holding: Void = turns.run { () async in
            tookTurn.yield()
            for await _ in release { break }
        }
        for await _ in taken { break }

        async let outcomes = withTaskGroup(of: (Int, Bool).self) { tasks in
            for i in 0..<200 {
                tasks.addTask {
                    do {
                        let written = try await group.write { db -> Int in
                            try db.execute(sql: "INSERT INTO t(x, note) VALUES (?, 'first')", arguments: [i])
                            if i % 10 == 3 { throw Refused() }
                            if i % 10 == 7 { try db.execute(sql: "INSERT INTO t(x) VALUES (?)", arguments: [i]) }
                            return i
                        }
                        return (written, true)
                    } catch {
                        return (i, false)
                    }
                }
            }
            var all: [(Int, Bool)] = []
            for await outcome in tasks { all.append(outcome) }
            return all
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while group.waitingCount < 200, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(group.waitingCount == 200)
        letGo.yield()
        await holding
        let results = await outcomes
        let succeeded = Set(results.filter(\.1).map(\.0))
        let expected = Set((0..<200).filter { $0 % 10 != 3 && $0 % 10 != 7 })
        #expect(succeeded == expected)
        let stored = try await pool.read { db in Set(try Int.fetchAll(db, sql: "SELECT x FROM t")) }
        #expect(stored == expected, "a failed writer's row survived, or a committed one is missing")
        #expect(group.transactionCount < 200 && group.transactionCount > 0, "no group formed: \(group.transactionCount) transactions")
    }

    @Test("a write alone still runs in its own transaction and returns its value")
    func alone() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pv-group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabasePool(path: directory.appendingPathComponent("g.db").path)
        try await pool.write { db in try db.execute(sql: "CREATE TABLE t(x INTEGER NOT NULL UNIQUE)") }
        let group = GroupCommit(turns: WriterTurns(), pool: pool)
        #expect(try await group.write { db in try db.execute(sql: "INSERT INTO t VALUES (1)"); return "one" } == "one")
        await #expect(throws: Refused.self) { try await group.write { db in try db.execute(sql: "INSERT INTO t VALUES (2)"); throw Refused() } }
        #expect(try await pool.read { try Int.fetchAll($0, sql: "SELECT x FROM t") } == [1])
        #expect(group.transactionCount == 2)
    }
}
