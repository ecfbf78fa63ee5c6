import Foundation
import GRDB
import Testing

/// Altered or moved ciphertexts are refused with an integrity error, never returned as garbage.
@Suite("Tampering through the CLI")
struct TamperTests {
    static func twoPatronsWithLoans() throws -> CLI {
        let cli = try CLI.initialized()
        for (card, name, email) in [("PVT100", "Henrietta Voss", "h.voss@example.org"), ("PVT200", "Cyril Ambrose", "c.ambrose@example.org")] {
            #expect(try cli.run(["patron", "register", "--card", card, "--name", name, "--email", email]).status == 0)
        }
        for (card, item) in [("PVT100", "IT-A"), ("PVT100", "IT-B"), ("PVT200", "IT-C")] {
            #expect(try cli.run(["loan", "checkout", "--card", card, "--item", item, "--title", "Title of \(item)"]).status == 0)
        }
        return cli
    }

    @Test("one flipped byte in a sealed registration is an integrity error")
    func flippedByte() throws {
        let cli = try Self.twoPatronsWithLoans()
        defer { cli.removeHome() }
        try cli.database("vault.db").write { db in
            let row = try Row.fetchOne(db, sql: "SELECT id, sealed FROM record WHERE kind = 1 LIMIT 1")!
            var sealed: Data = row["sealed"]
            sealed[sealed.startIndex + 30] ^= 0x01
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE id = ?", arguments: [sealed, row["id"] as Data])
        }
        let results = [try cli.run(["patron", "show", "PVT100", "--purpose", "circulation"]), try cli.run(["patron", "show", "PVT200", "--purpose", "circulation"])]
        let failed = results.filter { $0.status != 0 }
        #expect(failed.count == 1)
        #expect(failed.first?.status == 74)
        #expect(failed.first?.stderr.contains("integrity") == true)
        #expect(failed.first.map { $0.stderr.split(separator: "\n").count } == 1)
        #expect(failed.first?.stdout.isEmpty == true)
    }

    @Test("swapping two loans' ciphertexts is an integrity error")
    func swappedLoans() throws {
        let cli = try Self.twoPatronsWithLoans()
        defer { cli.removeHome() }
        try cli.database("vault.db").write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, sealed FROM record WHERE kind = 2 AND patron = (SELECT patron FROM record WHERE kind = 2 GROUP BY patron HAVING count(*) = 2)")
            #expect(rows.count == 2)
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE id = ?", arguments: [rows[1]["sealed"] as Data, rows[0]["id"] as Data])
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE id = ?", arguments: [rows[0]["sealed"] as Data, rows[1]["id"] as Data])
        }
        let shown = try cli.run(["patron", "show", "PVT100", "--purpose", "circulation"])
        #expect(shown.status == 74)
        #expect(shown.stderr.contains("integrity"))
    }

    @Test("swapping two patrons' registrations is an integrity error for both")
    func swappedRegistrations() throws {
        let cli = try Self.twoPatronsWithLoans()
        defer { cli.removeHome() }
        try cli.database("vault.db").write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, sealed FROM record WHERE kind = 1")
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE id = ?", arguments: [rows[1]["sealed"] as Data, rows[0]["id"] as Data])
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE id = ?", arguments: [rows[0]["sealed"] as Data, rows[1]["id"] as Data])
        }
        for card in ["PVT100", "PVT200"] {
            let shown = try cli.run(["patron", "show", card, "--purpose", "circulation"])
            #expect(shown.status == 74)
        }
    }

    @Test("a wrapped record key moved to another record does not unwrap")
    func movedRecordKey() throws {
        let cli = try Self.twoPatronsWithLoans()
        defer { cli.removeHome() }
        try cli.database("keys.db").write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT record_id, wrapped FROM record_key ORDER BY record_id LIMIT 2")
            try db.execute(sql: "UPDATE record_key SET wrapped = ? WHERE record_id = ?", arguments: [rows[1]["wrapped"] as Data, rows[0]["record_id"] as Data])
        }
        let results = [try cli.run(["patron", "show", "PVT100", "--purpose", "circulation"]), try cli.run(["patron", "show", "PVT200", "--purpose", "circulation"])]
        #expect(results.contains { $0.status == 74 })
    }
}
