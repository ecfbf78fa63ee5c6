import Foundation
import GRDB
import Testing

/// Bulk import from the CLI: all or nothing, sealed like desk registrations.
@Suite("Import through the CLI")
struct ImportTests {
    static let lines = [
        #"{"card":"IMP1","name":"Agnes Thornbury","email":"agnes@example.org","history":"keep","branch":"east","loans":[{"item":"IM-1","title":"A Kept Book","checkedOut":"2026-10-01T10:00:00Z","due":"2026-10-22","returned":"2026-10-20T09:00:00Z"},{"item":"IM-2","title":"An Open Book","checkedOut":"2026-11-20T10:00:00Z","due":"2026-12-11"}]}"#,
        #"{"card":"IMP2","name":"Basil Wren","email":"basil@example.org","loans":[{"item":"IM-3","title":"Another Open Book","checkedOut":"2026-11-21T10:00:00Z","due":"2026-12-12"}]}"#,
    ]

    @Test("imported patrons and loans behave like registered ones; a PIN set at the desk opens self-service")
    func importThenUse() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let file = cli.home.appendingPathComponent("patrons.jsonl")
        try (Self.lines.joined(separator: "\n") + "\n").write(to: file, atomically: false, encoding: .utf8)
        let imported = try cli.run(["patron", "import", file.path, "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.json["records"] as? Int == 5)

        let shown = try cli.run(["patron", "show", "IMP1", "--purpose", "patron-request", "--json"])
        #expect((shown.json["openLoans"] as? [[String: Any]])?.compactMap { $0["title"] as? String } == ["An Open Book"])
        #expect(try cli.run(["loan", "return", "--item", "IM-3", "--json"]).json["outcome"] as? String == "destroyed")

        #expect(try cli.run(["me", "history", "--card", "IMP1", "--pin-stdin"], stdin: "7777").status == 68)
        #expect(try cli.run(["patron", "reset-pin", "IMP1", "--purpose", "circulation", "--pin-stdin"], stdin: "7777").status == 70)
        #expect(try cli.run(["patron", "reset-pin", "IMP1", "--purpose", "account-help", "--pin-stdin"], stdin: "7777").status == 0)
        let accesses = try cli.run(["me", "accesses", "--card", "IMP1", "--pin-stdin", "--json"], stdin: "7777")
        #expect((accesses.json["accesses"] as? [[String: Any]])?.contains { $0["action"] as? String == "patron.reset-pin" && $0["permitted"] as? Bool == true } == true)
        // The patron takes the account back from whoever set that PIN.
        #expect(try cli.run(["me", "change-pin", "--card", "IMP1"], stdin: "7777\n2580").status == 0)
        #expect(try cli.run(["me", "show", "--card", "IMP1", "--pin-stdin"], stdin: "7777").status == 68)
        let history = try cli.run(["me", "history", "--card", "IMP1", "--pin-stdin", "--json"], stdin: "2580")
        #expect(history.status == 0, "\(history.stderr)")
        #expect((history.json["history"] as? [[String: Any]])?.compactMap { $0["title"] as? String } == ["A Kept Book"])

        for (file, bytes) in try cli.rawDatabaseBytes() {
            for needle in ["Agnes Thornbury", "basil@example.org", "IMP1", "A Kept Book"] {
                #expect(!bytes.contains(needle), "\(file) holds an imported field in plaintext")
            }
        }
    }

    @Test("a bad line stops the whole import, naming the line and field, and nothing is written", arguments: Backend.available)
    func badLineWritesNothing(_ backend: Backend) throws {
        let cli = try CLI.initialized(backend: backend)
        defer { cli.removeHome() }
        let file = cli.home.appendingPathComponent("patrons.jsonl")
        let bad = #"{"card":"IMP3","name":"Cora Vale","email":"not-an-email"}"#
        try (Self.lines + [bad]).joined(separator: "\n").write(to: file, atomically: false, encoding: .utf8)
        let result = try cli.run(["patron", "import", file.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("patron 3 of the batch: email"), "\(result.stderr)")
        #expect(!result.stderr.contains("not-an-email"))
        let missing = cli.home.appendingPathComponent("missing.jsonl")
        try #"{"card":"IMP4","email":"d@example.org"}"#.write(to: missing, atomically: false, encoding: .utf8)
        let noName = try cli.run(["patron", "import", missing.path])
        #expect(noName.status == 65 && noName.stderr.contains("line 1: the field name is missing"), "\(noName.stderr)")
        #expect(try cli.count("SELECT count(*) FROM patron") == 0)
        #expect(try cli.count("SELECT count(*) FROM patron_key", in: .keys) == 0)
    }

    @Test("in a file parsed on several cores, the first bad line by number is the one named")
    func firstBadLineOfManyIsNamed() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let file = cli.home.appendingPathComponent("many.jsonl")
        var lines = (1...1_200).map { #"{"card":"MANY\#($0)","name":"Many Patron \#($0)","email":"m\#($0)@example.org"}"# }
        lines[899] = #"{"card":"MANY900","email":"m900@example.org"}"#
        lines[299] = #"{"card":"MANY300","name":"Many Patron 300","email":"m300@example.org","birthDate":"someday"}"#
        try lines.joined(separator: "\n").write(to: file, atomically: false, encoding: .utf8)
        let result = try cli.run(["patron", "import", file.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("line 300: birthDate is not a date"), "\(result.stderr)")
        #expect(try cli.database("vault.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM patron") } == 0)
    }
}
