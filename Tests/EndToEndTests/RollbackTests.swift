import Foundation
import GRDB
import Testing

/// A changed record is resealed as its next version under a fresh key and the old key is
/// shredded, so a row copied back from an earlier copy of `vault.db` never opens again.
@Suite("Rollback from an earlier copy of vault.db")
struct RollbackTests {
    /// A byte-for-byte copy of vault.db as it is between commands (each command leaves the WAL
    /// folded in).
    static func snapshot(_ cli: CLI) throws -> URL {
        let copy = cli.home.appendingPathComponent("earlier-\(UUID().uuidString).db")
        try FileManager.default.copyItem(at: cli.vault.appendingPathComponent("vault.db"), to: copy)
        return copy
    }

    /// Copies a record's row (every column) back from the earlier copy.
    static func restore(_ kind: Int, from earlier: URL, into cli: CLI) throws {
        let queue = try cli.database("vault.db")
        defer { try? queue.close() }
        try queue.inDatabase { db in
            try db.execute(sql: "ATTACH DATABASE ? AS earlier", arguments: [earlier.path])
            try db.inTransaction {
                try db.execute(sql: """
                    UPDATE record SET (state, item_index, opened_day, due_day, closed_day, version, sealed) =
                        (SELECT e.state, e.item_index, e.opened_day, e.due_day, e.closed_day, e.version, e.sealed
                         FROM earlier.record e WHERE e.id = record.id)
                    WHERE kind = ? AND id IN (SELECT id FROM earlier.record)
                    """, arguments: [kind])
                #expect(db.changesCount >= 1)
                return .commit
            }
            try db.execute(sql: "DETACH DATABASE earlier")
        }
    }

    @Test("a kept loan's open row copied back after its return is an integrity error, not an open loan shown to staff")
    func returnedLoanRolledBack() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RB1", "--name", "Roll Back", "--email", "rb@example.org", "--history", "keep"]).status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "RB1", "--item", "RB-I1", "--title", "A Returned Title"]).status == 0)
        let earlier = try Self.snapshot(cli)
        #expect(try cli.run(["loan", "return", "--item", "RB-I1"]).status == 0)
        try Self.restore(2, from: earlier, into: cli)
        let shown = try cli.run(["patron", "show", "RB1", "--purpose", "circulation"])
        #expect(shown.status == 74, "\(shown.stdout)")
        #expect(!shown.stdout.contains("A Returned Title"))
        #expect(try cli.run(["loan", "return", "--item", "RB-I1"]).status == 74)
    }

    @Test("a registration copied back after a PIN change does not bring the old PIN back")
    func pinChangeRolledBack() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RB2", "--name", "Pin Change", "--email", "pc@example.org", "--pin-stdin"], stdin: "2468").status == 0)
        let earlier = try Self.snapshot(cli)
        #expect(try cli.run(["me", "change-pin", "--card", "RB2"], stdin: "2468\n8642").status == 0)
        try Self.restore(1, from: earlier, into: cli)
        let old = try cli.run(["me", "show", "--card", "RB2", "--pin-stdin"], stdin: "2468")
        #expect(old.status != 0)
        #expect(!old.stdout.contains("Pin Change"))
    }

    @Test("a registration copied back after an update does not bring the old phone back")
    func updateRolledBack() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RB3", "--name", "Phone Change", "--email", "ph@example.org", "--phone", "555-0001"]).status == 0)
        let earlier = try Self.snapshot(cli)
        #expect(try cli.run(["patron", "update", "RB3", "--phone", "555-0002"]).status == 0)
        try Self.restore(1, from: earlier, into: cli)
        let shown = try cli.run(["patron", "show", "RB3", "--purpose", "circulation"])
        #expect(shown.status == 74)
        #expect(!shown.stdout.contains("555-0001"))
    }

    @Test("flipping a record's state or version column is an integrity error")
    func flippedColumns() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RB4", "--name", "Flip State", "--email", "fs@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "RB4", "--item", "RB-I4", "--title", "Flipped"]).status == 0)
        #expect(try cli.run(["loan", "return", "--item", "RB-I4"]).status == 0)
        #expect(try cli.run(["me", "history", "--card", "RB4", "--pin-stdin"], stdin: "2468").stdout.contains("Flipped"))
        try cli.database("vault.db").write { db in try db.execute(sql: "UPDATE record SET state = 0 WHERE kind = 2") }
        #expect(try cli.run(["patron", "show", "RB4", "--purpose", "circulation"]).status == 74)
        try cli.database("vault.db").write { db in try db.execute(sql: "UPDATE record SET state = 1, version = version + 1 WHERE kind = 2") }
        #expect(try cli.run(["me", "history", "--card", "RB4", "--pin-stdin"], stdin: "2468").status == 74)
    }

    @Test("a discard patron flipped to keep in the plaintext column: the return is an integrity error and the loan is untouched")
    func flippedHistoryPreference() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RB5", "--name", "Flip Keep", "--email", "fk@example.org"]).status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "RB5", "--item", "RB-I5", "--title", "Not Kept"]).status == 0)
        try cli.database("vault.db").write { db in try db.execute(sql: "UPDATE patron SET history_keep = 1") }
        #expect(try cli.run(["loan", "return", "--item", "RB-I5"]).status == 74)
        #expect(try cli.database("vault.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record WHERE kind = 2 AND state = 0") } == 1)
    }
}
