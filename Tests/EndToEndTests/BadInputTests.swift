import Foundation
import GRDB
import Testing

/// Bad input gets one line on stderr naming what was wrong, a distinct exit code, no echo of
/// the offending value, and nothing written.
@Suite("Bad input through the CLI")
struct BadInputTests {
    static func expectOneLine(_ result: CLI.Result, status: Int32, mentions text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("patronvault: "), sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    static func counts(_ cli: CLI) throws -> [Int] {
        let records = try cli.database("vault.db")
        let keys = try cli.database("keys.db")
        return [
            try records.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM patron") ?? -1 },
            try records.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record") ?? -1 },
            try keys.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM patron_key") ?? -1 },
            try keys.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key") ?? -1 },
        ]
    }

    @Test("malformed fields are named, never echoed, and nothing is written")
    func malformedFields() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let before = try Self.counts(cli)
        let email = try cli.run(["patron", "register", "--card", "PVB1", "--name", "Wilhelmina Sorrel", "--email", "wilhelmina-at-example"])
        Self.expectOneLine(email, status: 65, mentions: "email")
        #expect(!email.stderr.contains("wilhelmina"))
        let date = try cli.run(["patron", "register", "--card", "PVB1", "--name", "Wilhelmina Sorrel", "--email", "w@example.org", "--birth-date", "1990-02-30"])
        Self.expectOneLine(date, status: 65, mentions: "birth date")
        let due = try cli.run(["loan", "checkout", "--card", "PVB1", "--item", "I1", "--title", "T", "--due", "soon"])
        Self.expectOneLine(due, status: 65, mentions: "due date")
        #expect(try Self.counts(cli) == before)
    }

    @Test("duplicate card, unknown card and items already out are refused without partial writes")
    func duplicatesAndUnknowns() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "PVB2", "--name", "Ezra Pond", "--email", "ezra@example.org"]).status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "PVB2", "--item", "IT-9", "--title", "T"]).status == 0)
        let before = try Self.counts(cli)
        Self.expectOneLine(try cli.run(["patron", "register", "--card", "pvb2", "--name", "Other Person", "--email", "o@example.org"]), status: 67, mentions: "already registered")
        Self.expectOneLine(try cli.run(["loan", "checkout", "--card", "PVB2", "--item", "IT-9", "--title", "T"]), status: 67, mentions: "already checked out")
        Self.expectOneLine(try cli.run(["patron", "show", "NOSUCH", "--purpose", "circulation"]), status: 66, mentions: "no patron")
        Self.expectOneLine(try cli.run(["loan", "return", "--item", "IT-404"]), status: 66, mentions: "not checked out")
        #expect(try Self.counts(cli) == before)
    }

    @Test("wrong and revoked tokens are refused alike")
    func tokens() throws {
        var cli = try CLI.initialized()
        defer { cli.removeHome() }
        let added = try cli.run(["staff", "add", "temp", "--role", "staff", "--json"])
        let token = try #require(added.json["token"] as? String)
        #expect(try cli.run(["staff", "revoke", "temp"]).status == 0)
        let adminToken = cli.environment["PATRONVAULT_TOKEN"]!
        cli.environment["PATRONVAULT_TOKEN"] = token
        let revoked = try cli.run(["stats"])
        Self.expectOneLine(revoked, status: 68, mentions: "staff token is not valid")
        #expect(!revoked.stderr.contains(token))
        let wrong = "pvt_" + String(adminToken.dropFirst(4).reversed())
        cli.environment["PATRONVAULT_TOKEN"] = wrong
        Self.expectOneLine(try cli.run(["stats"]), status: 68, mentions: "staff token is not valid")
        cli.environment["PATRONVAULT_TOKEN"] = adminToken
        let staffOnly = try cli.run(["staff", "add", "x", "--role", "boss"])
        #expect(staffOnly.status == 65)
    }

    @Test("staff may not manage staff; only admins can")
    func staffCannotManageStaff() throws {
        var cli = try CLI.initialized()
        defer { cli.removeHome() }
        let added = try cli.run(["staff", "add", "desk", "--role", "staff", "--json"])
        cli.environment["PATRONVAULT_TOKEN"] = added.json["token"] as? String
        Self.expectOneLine(try cli.run(["staff", "add", "sneaky", "--role", "admin"]), status: 70, mentions: "access denied")
    }

    @Test("five wrong PINs lock the card for fifteen minutes, durably")
    func pinLockout() throws {
        var cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "PVL1", "--name", "Lock Smith", "--email", "l@example.org", "--pin-stdin"], stdin: "2468").status == 0)
        for _ in 1...5 {
            let wrong = try cli.run(["me", "show", "--card", "PVL1", "--pin-stdin"], stdin: "1111")
            Self.expectOneLine(wrong, status: 68, mentions: "card barcode or PIN is wrong")
            #expect(!wrong.stderr.contains("1111"))
        }
        Self.expectOneLine(try cli.run(["me", "show", "--card", "PVL1", "--pin-stdin"], stdin: "2468"), status: 69, mentions: "locked")
        cli.environment["PATRONVAULT_NOW"] = "2026-11-22T10:14:00Z"
        Self.expectOneLine(try cli.run(["me", "show", "--card", "PVL1", "--pin-stdin"], stdin: "2468"), status: 69, mentions: "1 minute")
        cli.environment["PATRONVAULT_NOW"] = "2026-11-22T10:16:00Z"
        #expect(try cli.run(["me", "show", "--card", "PVL1", "--pin-stdin"], stdin: "2468").status == 0)
        Self.expectOneLine(try cli.run(["me", "show", "--card", "NOCARD", "--pin-stdin"], stdin: "2468"), status: 68, mentions: "card barcode or PIN is wrong")
    }

    @Test("a key file readable by others is refused; another vault's key is refused")
    func keyFiles() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let keyFile = cli.vault.appendingPathComponent("master.key").path
        #expect(try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int == 0o600)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        Self.expectOneLine(try cli.run(["stats"]), status: 71, mentions: "chmod 600")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
        let other = try CLI.initialized()
        defer { other.removeHome() }
        let wrong = try cli.run(["stats", "--key-file", other.vault.appendingPathComponent("master.key").path])
        Self.expectOneLine(wrong, status: 72, mentions: "master key does not open this vault")
        for name in ["vault.db", "keys.db"] {
            let mode = try FileManager.default.attributesOfItem(atPath: cli.vault.appendingPathComponent(name).path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test("a passphrase vault refuses a wrong passphrase")
    func passphrase() throws {
        let cli = try CLI()
        defer { cli.removeHome() }
        let created = try cli.run(["init", "--passphrase-stdin", "--json"], stdin: "correct horse battery staple")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.vault.appendingPathComponent("master.key").path))
        let token = try #require(created.json["token"] as? String)
        let ok = try cli.run(["stats"], env: ["PATRONVAULT_TOKEN": token, "PATRONVAULT_PASSPHRASE": "correct horse battery staple"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let bad = try cli.run(["stats"], env: ["PATRONVAULT_TOKEN": token, "PATRONVAULT_PASSPHRASE": "incorrect horse battery"])
        Self.expectOneLine(bad, status: 72, mentions: "master key does not open this vault")
        Self.expectOneLine(try cli.run(["init", "--passphrase-stdin"], stdin: "short"), status: 76, mentions: "already exists")
    }

    @Test("a truncated or foreign vault file is reported as corrupt; a missing vault as not initialised")
    func corruptFiles() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let path = cli.vault.appendingPathComponent("vault.db")
        let bytes = try Data(contentsOf: path)
        try bytes.prefix(1000).write(to: path)
        Self.expectOneLine(try cli.run(["stats"]), status: 73, mentions: "corrupt")
        let empty = try CLI()
        defer { empty.removeHome() }
        Self.expectOneLine(try empty.run(["stats"]), status: 75, mentions: "patronvault init")
    }
}
