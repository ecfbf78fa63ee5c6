import Foundation
import GRDB
import Testing

/// A process holding read transactions on both files (a backup tool, a curious `sqlite3`) must
/// not stall the vault: work that needs the files to itself is queued and the command returns.
@Suite("Held readers")
struct HeldReaderTests {
    static func heldReader(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.allowsUnsafeTransactions = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.inDatabase { db in
            try db.beginTransaction(.deferred)
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
        }
        return queue
    }

    @Test("with readers held on vault.db and keys.db, a destroying return and a lookup answer within seconds; the shred finishes once they let go")
    func returnBesideHeldReaders() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "HR1", "--name", "Held Reader", "--email", "hr@example.org"]).status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "HR1", "--item", "HR-I1", "--title", "Gone Soon"]).status == 0)
        let readers = try ["vault.db", "keys.db"].map { try Self.heldReader(cli.vault.appendingPathComponent($0).path) }

        let clock = ContinuousClock()
        var returned: CLI.Result?
        let elapsed = try clock.measure { returned = try cli.run(["loan", "return", "--item", "HR-I1", "--json"]) }
        #expect(returned?.status == 0, "\(returned?.stderr ?? "")")
        #expect(returned?.json["outcome"] as? String == "destroyed-shred-pending")
        #expect(elapsed < .seconds(5), "the return waited \(elapsed) for the readers")
        var shown: CLI.Result?
        let lookup = try clock.measure { shown = try cli.run(["patron", "show", "HR1", "--purpose", "circulation"]) }
        #expect(shown?.status == 0)
        #expect(lookup < .seconds(5), "the lookup waited \(lookup)")

        for reader in readers {
            try reader.inDatabase { db in try db.commit() }
            try reader.close()
        }
        #expect(try cli.run(["staff", "list"]).status == 0)
        #expect(try cli.database("vault.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM pending_shred") } == 0)
        #expect(try cli.database("keys.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key") } == 1)
    }
}
