import Foundation
import GRDB
import Testing

/// Blind-index columns moved between rows: the vault checks that what it opened is what was
/// looked up, so a swapped index is an integrity error and never another patron's data or loan.
@Suite("Swapped lookup columns")
struct SwappedIndexTests {
    /// Swaps one blob column between two rows of a table whose column is unique.
    static func swap(_ column: String, in table: String, rows: [Data], key: String, cli: CLI) throws {
        try cli.database("vault.db").write { db in
            let values = try rows.map { id in
                try #require(try Data.fetchOne(db, sql: "SELECT \(column) FROM \(table) WHERE \(key) = ?", arguments: [id]))
            }
            try db.execute(sql: "UPDATE \(table) SET \(column) = x'00' WHERE \(key) = ?", arguments: [rows[0]])
            try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE \(key) = ?", arguments: [values[0], rows[1]])
            try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE \(key) = ?", arguments: [values[1], rows[0]])
        }
    }

    @Test("card indexes swapped between two patrons: lookups and checkouts by either card are integrity errors")
    func swappedCardIndexes() throws {
        let cli = try TamperTests.twoPatronsWithLoans()
        defer { cli.removeHome() }
        let patrons = try cli.database("vault.db").read { try Data.fetchAll($0, sql: "SELECT pseudonym FROM patron") }
        #expect(patrons.count == 2)
        try Self.swap("card_index", in: "patron", rows: patrons, key: "pseudonym", cli: cli)
        for card in ["PVT100", "PVT200"] {
            for arguments in [
                ["patron", "show", card, "--purpose", "circulation"],
                ["loan", "checkout", "--card", card, "--item", "NEW-\(card)", "--title", "New"],
                ["patron", "update", card, "--phone", "555"],
            ] {
                let result = try cli.run(arguments)
                #expect(result.status == 74, "\(arguments)")
                #expect(!result.stdout.contains("Henrietta") && !result.stdout.contains("Cyril"))
            }
        }
        // Nothing was lent on the strength of the swapped index.
        #expect(try cli.database("vault.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record WHERE kind = 2") } == 3)
    }

    @Test("item indexes swapped between two open loans: a return is an integrity error and destroys nothing")
    func swappedItemIndexes() throws {
        let cli = try TamperTests.twoPatronsWithLoans()
        defer { cli.removeHome() }
        // IT-B (patron PVT100) and IT-C (patron PVT200): across patrons.
        let loans = try cli.database("vault.db").read { db in
            try Data.fetchAll(db, sql: "SELECT id FROM record WHERE kind = 2 ORDER BY rowid")
        }
        #expect(loans.count == 3)
        try Self.swap("item_index", in: "record", rows: [loans[1], loans[2]], key: "id", cli: cli)
        for item in ["IT-B", "IT-C"] {
            let returned = try cli.run(["loan", "return", "--item", item])
            #expect(returned.status == 74)
            #expect(returned.stdout.isEmpty)
        }
        let remaining = try cli.database("vault.db").read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE kind = 2 AND state = 0")
        }
        #expect(remaining == 3)
        #expect(try cli.database("keys.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key") } == 5)
        // The untouched loan still returns normally.
        #expect(try cli.run(["loan", "return", "--item", "IT-A"]).status == 0)
    }

    @Test("email indexes swapped between two patrons: a search by either email is an integrity error, never the other patron")
    func swappedEmailIndexes() throws {
        let cli = try TamperTests.twoPatronsWithLoans()
        defer { cli.removeHome() }
        let patrons = try cli.database("vault.db").read { try Data.fetchAll($0, sql: "SELECT pseudonym FROM patron") }
        try Self.swap("email_index", in: "patron", rows: patrons, key: "pseudonym", cli: cli)
        for email in ["h.voss@example.org", "c.ambrose@example.org"] {
            let found = try cli.run(["patron", "find", "--email", email, "--purpose", "circulation"])
            #expect(found.status == 74)
            #expect(!found.stdout.contains("PVT100") && !found.stdout.contains("PVT200"))
        }
    }

    @Test("a sign-in through a swapped card index is an integrity error and is on record as a failed sign-in")
    func swappedCardIndexSignIn() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        for (card, pin) in [("PVS1", "2468"), ("PVS2", "1357")] {
            #expect(try cli.run(["patron", "register", "--card", card, "--name", "Sign \(card)", "--email", "\(card.lowercased())@example.org", "--pin-stdin"], stdin: pin).status == 0)
        }
        let patrons = try cli.database("vault.db").read { try Data.fetchAll($0, sql: "SELECT pseudonym FROM patron") }
        try Self.swap("card_index", in: "patron", rows: patrons, key: "pseudonym", cli: cli)
        let signIn = try cli.run(["me", "show", "--card", "PVS1", "--pin-stdin"], stdin: "1357")
        #expect(signIn.status == 74)
        #expect(!signIn.stdout.contains("Sign PVS2"))
        let recorded = try cli.database("vault.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM audit_entry WHERE action = 'patron.sign-in'") }
        #expect(recorded == 1)
    }
}
