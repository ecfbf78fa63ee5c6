import Foundation
import GRDB
import Testing

/// Fees end to end: a loan returned with a fee is held whatever the patron's history choice,
/// the desk sees what is owed without the title, settling it is its own purpose-bound action,
/// and the retention schedule's held-loans rule destroys a settled loan (its key bytes gone) once
/// its period has passed, never an owed one and never one whose day was edited.
@Suite("Fees and held loans")
struct FeeTests {
    static let runDay = "2024-06-15T10:00:00Z"

    /// The schedule's held-loans rule keeps a settled loan 90 days; the run is on 2024-06-15, so
    /// loans settled on or before 2024-03-17 are due.
    /// - F1 discards history, card expired 2021: I7 returned in 2020 with 2.50 owed, never paid;
    /// - F2 discards history: I8 returned with 1.00, settled 2024-02-01 (due); I9 returned with
    ///   3.00, settled 2024-06-01 (not due);
    /// - F3 keeps history: I10 returned with 0.75, settled 2024-02-10: moved into the history.
    static func scenario() throws -> CLI {
        var cli = try CLI.initialized(now: "2020-01-15T10:00:00Z")
        func ok(_ now: String, _ arguments: [String], stdin: String? = nil) throws {
            cli.environment["PATRONVAULT_NOW"] = now
            let result = try cli.run(arguments, stdin: stdin)
            guard result.status == 0 else { throw CLIFailure(message: "\(arguments.joined(separator: " ")): \(result.stderr)") }
        }
        let start = "2020-01-15T10:00:00Z"
        try ok(start, ["patron", "register", "--card", "F1", "--name", "Owes Still", "--email", "f1@example.org", "--expires", "2021-01-01", "--pin-stdin"], stdin: "1111")
        try ok(start, ["patron", "register", "--card", "F2", "--name", "Paid Up", "--email", "f2@example.org", "--expires", "2030-01-01", "--pin-stdin"], stdin: "2222")
        try ok(start, ["patron", "register", "--card", "F3", "--name", "Keeps All", "--email", "f3@example.org", "--history", "keep", "--expires", "2030-01-01", "--pin-stdin"], stdin: "3333")
        try ok(start, ["loan", "checkout", "--card", "F1", "--item", "I7", "--title", "Overdue Atlas"])
        try ok("2020-03-01T10:00:00Z", ["loan", "return", "--item", "I7", "--fee", "2.50"])
        try ok("2023-12-01T10:00:00Z", ["loan", "checkout", "--card", "F2", "--item", "I8", "--title", "Settled Early"])
        try ok("2024-01-10T10:00:00Z", ["loan", "return", "--item", "I8", "--fee", "1"])
        try ok("2024-01-11T10:00:00Z", ["loan", "checkout", "--card", "F3", "--item", "I10", "--title", "Kept Fee Book"])
        try ok("2024-02-01T10:00:00Z", ["loan", "return", "--item", "I10", "--fee", "0.75"])
        try ok("2024-02-01T10:00:00Z", ["loan", "settle", "--card", "F2", "--item", "I8", "--purpose", "fines"])
        try ok("2024-02-10T10:00:00Z", ["loan", "settle", "--card", "F3", "--item", "I10", "--purpose", "fines"])
        try ok("2024-03-01T10:00:00Z", ["loan", "checkout", "--card", "F2", "--item", "I9", "--title", "Settled Late"])
        try ok("2024-05-01T10:00:00Z", ["loan", "return", "--item", "I9", "--fee", "3.00"])
        try ok("2024-06-01T10:00:00Z", ["loan", "settle", "--card", "F2", "--item", "I9", "--purpose", "fines"])
        cli.environment["PATRONVAULT_NOW"] = runDay
        return cli
    }

    @Test("a return with a fee holds the loan; the desk sees the fee without the title; settling needs the fines purpose and happens once", arguments: Backend.available)
    func returnAndSettle(_ backend: Backend) throws {
        var cli = try CLI.initialized(now: "2024-01-10T10:00:00Z", backend: backend)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "C1", "--name", "Late Reader", "--email", "c1@example.org", "--pin-stdin"], stdin: "4321").status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "C1", "--item", "B1", "--title", "A Private Matter"]).status == 0)
        for bad in ["0", "-1", "2.505", "abc", "1,50", "100000.01", ".5", "1."] {
            let refused = try cli.run(["loan", "return", "--item", "B1", "--fee=\(bad)"])
            #expect(refused.status == 65, "fee \(bad)")
            #expect(refused.stderr.hasPrefix("patronvault: ") && refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("fee"), "\(refused.stderr)")
        }
        cli.environment["PATRONVAULT_NOW"] = "2024-02-10T10:00:00Z"
        let returned = try cli.run(["loan", "return", "--item", "B1", "--fee", "2.5", "--json"])
        #expect(returned.status == 0, "\(returned.stderr)")
        #expect(returned.json["outcome"] as? String == "held-for-fee")
        // Held, not destroyed, although C1 discards history; the item is no longer out.
        #expect(try cli.rows("SELECT state FROM record WHERE kind = 2") == ["2"])
        #expect(try cli.run(["loan", "return", "--item", "B1"]).status == 66)

        // Circulation shows no fees; fines shows them, without the title.
        #expect(try cli.run(["patron", "show", "C1", "--purpose", "circulation", "--json"]).json["feesOwed"] == nil)
        let desk = try cli.run(["patron", "show", "C1", "--purpose", "fines", "--json"])
        #expect(desk.status == 0, "\(desk.stderr)")
        let fees = desk.json["feesOwed"] as? [[String: Any]] ?? []
        #expect(fees.count == 1)
        #expect(fees.first?["item"] as? String == "B1" && fees.first?["amount"] as? String == "2.50")
        #expect(fees.first?["due"] as? String == "2024-01-31" && fees.first?["returned"] as? String == "2024-02-10")
        #expect(!desk.stdout.contains("A Private Matter"))
        let text = try cli.run(["patron", "show", "C1", "--purpose", "fines"]).stdout
        #expect(text.contains("Fees owed   2.50") && text.contains("B1  2.50  due 2024-01-31  returned 2024-02-10") && !text.contains("A Private Matter"))
        // The patron sees it too, with the title in their own export.
        let own = try cli.run(["me", "show", "--card", "C1", "--json"], env: ["PATRONVAULT_PIN": "4321"])
        #expect((own.json["feesOwed"] as? [[String: Any]])?.count == 1)
        #expect(try cli.run(["me", "erase", "--card", "C1", "--yes"], env: ["PATRONVAULT_PIN": "4321"]).stderr
            == "patronvault: the account still owes 1 fee; settle it at the desk before the account can be erased\n")

        let wrongPurpose = try cli.run(["loan", "settle", "--card", "C1", "--item", "B1", "--purpose", "circulation"])
        #expect(wrongPurpose.status == 70)
        let noFee = try cli.run(["loan", "settle", "--card", "C1", "--item", "B2", "--purpose", "fines"])
        #expect(noFee.status == 66 && noFee.stderr == "patronvault: that patron owes no fee on that item\n")
        let settled = try cli.run(["loan", "settle", "--card", "C1", "--item", "B1", "--purpose", "fines", "--json"])
        #expect(settled.status == 0, "\(settled.stderr)")
        #expect(settled.json["outcome"] as? String == "held-until-retention")
        #expect(settled.json["amount"] as? String == "2.50")
        #expect(settled.json["destroyedFrom"] as? String == "2024-05-10")
        #expect(try cli.run(["loan", "settle", "--card", "C1", "--item", "B1", "--purpose", "fines"]).status == 66)
        let after = try cli.run(["patron", "show", "C1", "--purpose", "fines", "--json"])
        #expect((after.json["feesOwed"] as? [[String: Any]])?.isEmpty == true)
        #expect(try cli.count("SELECT settled_day FROM record WHERE kind = 2 AND state = 2") == 19_763) // 2024-02-10

        // The audit trail names the action and purpose, never the item, title or amount.
        #expect(try cli.run(["audit", "verify"]).status == 0)
        let log = try cli.run(["audit", "log"]).stdout
        #expect(log.contains("loan.settle-fee") && log.contains("fines"))
        #expect(!log.contains("A Private Matter") && !log.contains("2.50"))
        let accesses = try cli.run(["me", "accesses", "--card", "C1", "--json"], env: ["PATRONVAULT_PIN": "4321"])
        #expect(accesses.stdout.contains("loan.settle-fee"))
    }

    @Test("the held-loans rule destroys settled loans past their period (keys gone), never an owed fee, and the account owing it is kept")
    func retentionOfHeldLoans() throws {
        let cli = try Self.scenario()
        defer { cli.removeHome() }
        let dry = try cli.run(["retention", "run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let planned = RetentionTests.rules(dry)
        #expect(RetentionTests.counts(planned["settled-fee-loans"]) == [1, 1, 0])
        #expect(planned["settled-fee-loans"]?["cutoff"] as? String == "2024-03-17")
        // F1's card expired in 2021 and it was last used in 2020, but it owes a fee: kept.
        #expect(RetentionTests.counts(planned["expired-accounts"]) == [0, 0, 1])

        // I8's key: the one key of a held loan settled on or before the cutoff.
        let vault = try cli.database("vault.db")
        let owner = try vault.read { db in
            try Row.fetchOne(db, sql: "SELECT patron, id, version FROM record WHERE state = 2 AND settled_day <= 19799")
                .map { ($0[0] as Data, $0[1] as Data, $0[2] as Int64) }
        }
        try vault.close()
        let keys = try cli.database("keys.db")
        let dueKey = try keys.read { db in
            try owner.flatMap { try Data.fetchOne(db, sql: "SELECT wrapped FROM record_key WHERE pseudonym = ? AND record_id = ? AND version = ?", arguments: [$0.0, $0.1, $0.2]) }
        }
        try keys.close()
        #expect(dueKey != nil)

        let run = try cli.run(["retention", "run", "--confirm", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(RetentionTests.counts(RetentionTests.rules(run)["settled-fee-loans"]) == [1, 1, 0])
        #expect(run.json["keysDestroyed"] as? Bool == true)
        for (name, bytes) in try cli.rawDatabaseBytes() where name.hasPrefix("keys.db") {
            if let dueKey { #expect(!bytes.contains(bytes: dueKey), "a destroyed key survives in \(name)") }
        }
        #expect(try cli.run(["audit", "verify"]).status == 0)

        // F2's export holds I9 (settled, not yet due) and not I8; it verifies as complete.
        let folder = cli.home.appendingPathComponent("f2-export")
        let export = try cli.run(["me", "export", "--card", "F2", "--out", folder.path, "--json"], env: ["PATRONVAULT_PIN": "2222"])
        #expect(export.status == 0, "\(export.stderr)")
        let data = try String(contentsOf: folder.appendingPathComponent("patron-data.json"), encoding: .utf8)
        #expect(data.contains("Settled Late") && !data.contains("Settled Early"))
        #expect(data.contains("\"heldLoans\"") && data.contains("\"amount\": \"3.00\""))
        #expect(try cli.run(["export", "verify", folder.path]).status == 0)
        let page = try String(contentsOf: folder.appendingPathComponent("patron-data.html"), encoding: .utf8)
        #expect(page.contains("Returned items with a fee") && page.contains("3.00"))
        // F1 still owes, and can still be shown; F3's settled loan is history with its fee.
        let f1 = try cli.run(["patron", "show", "F1", "--purpose", "fines", "--json"])
        #expect((f1.json["feesOwed"] as? [[String: Any]])?.first?["amount"] as? String == "2.50")
        let history = try cli.run(["me", "history", "--card", "F3", "--json"], env: ["PATRONVAULT_PIN": "3333"])
        #expect(history.stdout.contains("Kept Fee Book") && history.stdout.contains("\"amount\""))

        let again = try cli.run(["retention", "run", "--confirm", "--json"])
        #expect(RetentionTests.counts(RetentionTests.rules(again)["settled-fee-loans"]) == [0, 0, 0])
    }

    @Test("an edited settlement day, or an owed fee made to look settled, never makes the rule destroy a loan early")
    func editedSettlementIsNotBelieved() throws {
        let cli = try Self.scenario()
        defer { cli.removeHome() }
        // I9 (settled 2024-06-01) made to look settled in 2019; F1's owed fee given a day too.
        try cli.database("vault.db").write { db in
            try db.execute(sql: "UPDATE record SET settled_day = 17900 WHERE state = 2")
        }
        let run = try cli.run(["retention", "run", "--confirm", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        // Only I8 goes; F2 is counted as kept for I9, F1 for its owed fee.
        #expect(RetentionTests.counts(RetentionTests.rules(run)["settled-fee-loans"]) == [1, 1, 2])
        let f1 = try cli.run(["patron", "show", "F1", "--purpose", "fines", "--json"])
        #expect((f1.json["feesOwed"] as? [[String: Any]])?.count == 1)
        let folder = cli.home.appendingPathComponent("f2-export")
        #expect(try cli.run(["me", "export", "--card", "F2", "--out", folder.path], env: ["PATRONVAULT_PIN": "2222"]).status == 0)
        #expect(try String(contentsOf: folder.appendingPathComponent("patron-data.json"), encoding: .utf8).contains("Settled Late"))
        // A held loan flipped to closed in the table is caught by the record set.
        try cli.database("vault.db").write { db in try db.execute(sql: "UPDATE record SET state = 1 WHERE state = 2") }
        #expect(try cli.run(["patron", "show", "F1", "--purpose", "fines"]).status == 74)
    }
}
