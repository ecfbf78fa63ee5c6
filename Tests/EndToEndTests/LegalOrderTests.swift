import Foundation
import GRDB
import Testing

/// Legal orders from the CLI: filed by a privacy officer, approved by a second person, disclosed
/// once within scope and window as a signed bundle, and shown to the patron among their accesses
/// (after the delayed-notice day when the order set one). Refused: the filer approving, a second
/// approval, desk staff and admins where the rules say so, an unapproved, used or expired order.
@Suite("Legal orders")
struct LegalOrderTests {
    /// A vault with two privacy officers and desk staff, patron LO1 (history kept, PIN 2468) with
    /// a loan returned in March, one returned in October and one still out, and patron LO2 with
    /// a returned loan of their own.
    static func library(_ backend: Backend = .sqlite) throws -> (cli: CLI, officers: [String], desk: String) {
        let cli = try CLI.initialized(backend: backend)
        let token = { (name: String, role: String) throws -> String in
            try cli.run(["staff", "add", name, "--role", role, "--json"]).json["token"] as? String ?? ""
        }
        let officers = [try token("po-one", "privacy-officer"), try token("po-two", "privacy-officer")]
        let desk = try token("desk-one", "staff")
        for (card, name) in [("LO1", "Lena Order"), ("LO2", "Otto Other")] {
            let registered = try cli.run(
                ["patron", "register", "--card", card, "--name", name, "--email", "\(card.lowercased())@example.org", "--history", "keep", "--pin-stdin"],
                stdin: "2468")
            guard registered.status == 0 else { throw CLIFailure(message: registered.stderr) }
        }
        let steps: [(String, [String])] = [
            ("2026-03-01T10:00:00Z", ["loan", "checkout", "--card", "LO1", "--item", "MARCH", "--title", "A March Title"]),
            ("2026-03-10T10:00:00Z", ["loan", "return", "--item", "MARCH"]),
            ("2026-10-01T10:00:00Z", ["loan", "checkout", "--card", "LO1", "--item", "OCTOBER", "--title", "An October Title"]),
            ("2026-10-05T10:00:00Z", ["loan", "return", "--item", "OCTOBER"]),
            ("2026-10-06T10:00:00Z", ["loan", "checkout", "--card", "LO2", "--item", "OTHER", "--title", "Another Patron's Title"]),
            ("2026-10-07T10:00:00Z", ["loan", "return", "--item", "OTHER"]),
            ("2026-11-01T10:00:00Z", ["loan", "checkout", "--card", "LO1", "--item", "STILLOUT", "--title", "A Title Still Out"]),
        ]
        for (now, arguments) in steps {
            let result = try cli.run(arguments, env: ["PATRONVAULT_NOW": now])
            guard result.status == 0 else { throw CLIFailure(message: "\(arguments): \(result.stderr)") }
        }
        return (cli, officers, desk)
    }

    static func file(_ cli: CLI, by officer: String, scope: String, from: String, to: String, expires: String, delay: String? = nil) throws -> String {
        var arguments = ["legal-order", "file", "--reference", "Subpoena 26-CV-0042", "--patron", "LO1", "--scope", scope, "--from", from, "--to", to, "--expires", expires, "--json"]
        if let delay { arguments += ["--delay-notice-until", delay] }
        let filed = try cli.run(arguments, env: ["PATRONVAULT_TOKEN": officer])
        guard filed.status == 0, let id = filed.json["id"] as? String else { throw CLIFailure(message: "file: \(filed.stderr)") }
        return id
    }

    static func accesses(_ cli: CLI, now: String) throws -> [[String: Any]] {
        let result = try cli.run(["me", "accesses", "--card", "LO1", "--pin-stdin", "--json"], stdin: "2468", env: ["PATRONVAULT_NOW": now])
        guard result.status == 0 else { throw CLIFailure(message: "me accesses: \(result.stderr)") }
        return result.json["accesses"] as? [[String: Any]] ?? []
    }

    @Test("file → approve by a second person → disclose: the bundle holds only the order's scope and window, verifies, and closes the order")
    func fileApproveDisclose() throws {
        let (cli, officers, desk) = try Self.library()
        defer { cli.removeHome() }
        let id = try Self.file(cli, by: officers[0], scope: "history", from: "2026-09-01", to: "2026-11-30", expires: "2026-12-31")

        // Dual control: the filer cannot approve, and the refusal is on record as one.
        let byFiler = try cli.run(["legal-order", "approve", id], env: ["PATRONVAULT_TOKEN": officers[0]])
        #expect(byFiler.status == 70 && byFiler.stderr.contains("second person"), "\(byFiler.stderr)")
        let log = try cli.run(["audit", "log", "--action", "legal-order.approve", "--json"])
        let approvals = log.json["entries"] as? [[String: Any]] ?? []
        #expect(approvals.count == 1 && approvals.first?["decision"] as? String == "forbid" && approvals.first?["detail"] as? String == "legal-order \(id)", "\(log.stdout)")
        #expect(try cli.run(["legal-order", "approve", id], env: ["PATRONVAULT_TOKEN": desk]).status == 70)
        #expect(try cli.run(["legal-order", "disclose", id, "--out", cli.home.appendingPathComponent("early").path], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 81)
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("early").path))

        // An admin approves as the second person; a second approval is refused.
        let approved = try cli.run(["legal-order", "approve", id, "--json"])
        #expect(approved.status == 0 && approved.json["approvedBy"] as? String != nil, "\(approved.stderr)")
        #expect(try cli.run(["legal-order", "approve", id], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 81)

        // Admins and desk staff do not disclose; a non-empty folder is refused without using the order.
        let out = cli.home.appendingPathComponent("disclosure")
        #expect(try cli.run(["legal-order", "disclose", id, "--out", out.path]).status == 70)
        #expect(try cli.run(["legal-order", "disclose", id, "--out", out.path], env: ["PATRONVAULT_TOKEN": desk]).status == 70)
        let busy = cli.home.appendingPathComponent("busy")
        try FileManager.default.createDirectory(at: busy, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: busy.appendingPathComponent("already-here"))
        #expect(try cli.run(["legal-order", "disclose", id, "--out", busy.path], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 67)

        let approvedRow = try cli.database("vault.db").read { try Data.fetchOne($0, sql: "SELECT sealed FROM legal_order WHERE id = ?", arguments: [id]) }
        let disclosed = try cli.run(["legal-order", "disclose", id, "--out", out.path], env: ["PATRONVAULT_TOKEN": officers[1]])
        #expect(disclosed.status == 0, "\(disclosed.stderr)")
        let text = try String(contentsOf: out.appendingPathComponent("disclosure.json"), encoding: .utf8)
        #expect(text.contains("An October Title"))
        for outside in ["A March Title", "A Title Still Out", "Another Patron's Title", "Lena Order", "lo1@example.org"] {
            #expect(!text.contains(outside), "the disclosure holds \(outside), which the order does not cover")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["disclosure.json", "manifest.json", "manifest.sig"])

        // Whoever receives it checks it with the public export key alone; an edited byte fails.
        let key = try cli.run(["export", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cli.run(["legal-order", "verify", out.path, "--export-key", key]).status == 0)
        var edited = try Data(contentsOf: out.appendingPathComponent("disclosure.json"))
        edited[edited.count / 2] ^= 0x01
        try edited.write(to: out.appendingPathComponent("disclosure.json"))
        let broken = try cli.run(["legal-order", "verify", out.path, "--export-key", key])
        #expect(broken.status == 74 && broken.stderr.contains("does not match"), "\(broken.stderr)")

        // Used once: a second disclosure is refused; the listing says so.
        #expect(try cli.run(["legal-order", "disclose", id, "--out", cli.home.appendingPathComponent("again").path], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 81)
        // The approved row copied back over the used one (a rollback with sqlite3): the trail
        // remembers the disclosure, so the order is not used twice.
        let rollback = try cli.database("vault.db")
        let usedRow = try rollback.read { try Data.fetchOne($0, sql: "SELECT sealed FROM legal_order WHERE id = ?", arguments: [id]) }
        try rollback.write { try $0.execute(sql: "UPDATE legal_order SET sealed = ? WHERE id = ?", arguments: [try #require(approvedRow), id]) }
        let replayed = try cli.run(["legal-order", "disclose", id, "--out", cli.home.appendingPathComponent("replayed").path], env: ["PATRONVAULT_TOKEN": officers[1]])
        #expect(replayed.status == 74, "\(replayed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("replayed").appendingPathComponent("disclosure.json").path))
        try rollback.write { try $0.execute(sql: "UPDATE legal_order SET sealed = ? WHERE id = ?", arguments: [try #require(usedRow), id]) }
        try rollback.close()
        let listed = try cli.run(["legal-order", "list", "--json"], env: ["PATRONVAULT_TOKEN": officers[0]])
        let orders = listed.json["orders"] as? [[String: Any]] ?? []
        #expect(orders.count == 1 && orders.first?["status"] as? String == "disclosed", "\(listed.stdout)")
        #expect(try cli.run(["legal-order", "list"], env: ["PATRONVAULT_TOKEN": desk]).status == 70)

        // The patron sees every step, under the order's id, with the privacy officers' role.
        let seen = try Self.accesses(cli, now: "2026-11-22T12:00:00Z").filter { $0["legalOrder"] as? String == id }
        let actions = Set(seen.compactMap { $0["action"] as? String })
        #expect(actions.isSuperset(of: ["legal-order.file", "legal-order.approve", "legal-order.disclose", "history.read", "export.read"]), "\(seen)")
        #expect(try cli.run(["audit", "verify"]).status == 0)

        // The reference and the titles are nowhere in the vault's files in the clear.
        for (name, bytes) in try cli.rawDatabaseBytes() {
            for secret in ["Subpoena 26-CV-0042", "An October Title"] { #expect(!bytes.contains(secret), "\(secret) in \(name)") }
        }
    }

    @Test("a delayed notice keeps the order from the patron's accesses and export until its day, then shows it", arguments: Backend.available)
    func delayedNotice(_ backend: Backend) throws {
        let (cli, officers, _) = try Self.library(backend)
        defer { cli.removeHome() }
        let id = try Self.file(cli, by: officers[0], scope: "all", from: "2026-01-01", to: "2026-12-31", expires: "2026-12-31", delay: "2027-03-01")
        #expect(try cli.run(["legal-order", "approve", id], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 0)
        let out = cli.home.appendingPathComponent("all")
        #expect(try cli.run(["legal-order", "disclose", id, "--out", out.path], env: ["PATRONVAULT_TOKEN": officers[0]]).status == 0)
        let all = try String(contentsOf: out.appendingPathComponent("disclosure.json"), encoding: .utf8)
        for covered in ["Lena Order", "A March Title", "An October Title", "A Title Still Out"] { #expect(all.contains(covered), "\(covered)") }
        #expect(!all.contains("Another Patron's Title"))

        let before = try Self.accesses(cli, now: "2026-12-01T10:00:00Z")
        #expect(!before.contains { $0["legalOrder"] != nil || ($0["role"] as? String) == "privacy-officer" }, "\(before)")
        let exportBefore = cli.home.appendingPathComponent("export-before")
        #expect(try cli.run(["me", "export", "--card", "LO1", "--pin-stdin", "--out", exportBefore.path], stdin: "2468", env: ["PATRONVAULT_NOW": "2026-12-01T10:00:00Z"]).status == 0)
        let dataBefore = try String(contentsOf: exportBefore.appendingPathComponent("patron-data.json"), encoding: .utf8)
        #expect(!dataBefore.contains(id) && !dataBefore.contains("privacy-officer"))

        let after = try Self.accesses(cli, now: "2027-03-01T10:00:00Z").filter { $0["legalOrder"] as? String == id }
        #expect(after.count >= 4, "\(after)")
        let exportAfter = cli.home.appendingPathComponent("export-after")
        #expect(try cli.run(["me", "export", "--card", "LO1", "--pin-stdin", "--out", exportAfter.path], stdin: "2468", env: ["PATRONVAULT_NOW": "2027-03-01T10:00:00Z"]).status == 0)
        let dataAfter = try String(contentsOf: exportAfter.appendingPathComponent("patron-data.json"), encoding: .utf8)
        #expect(dataAfter.contains("\(id): Subpoena 26-CV-0042; all from 2026-01-01 to 2026-12-31; disclosed on 2026-11-22"), "\(dataAfter.suffix(2_000))")
        #expect(try cli.run(["export", "verify", exportAfter.path]).status == 0)
        // The other patron never sees it.
        let other = try cli.run(["me", "accesses", "--card", "LO2", "--pin-stdin", "--json"], stdin: "2468", env: ["PATRONVAULT_NOW": "2027-03-02T10:00:00Z"])
        #expect(other.status == 0 && !other.stdout.contains(id))
    }

    @Test("expired, unapproved and out-of-scope orders permit nothing; bad filings are refused with one line", arguments: Backend.available)
    func refusals(_ backend: Backend) throws {
        let (cli, officers, desk) = try Self.library(backend)
        defer { cli.removeHome() }
        let po = ["PATRONVAULT_TOKEN": officers[0]]
        let base = ["legal-order", "file", "--reference", "Order 7", "--patron", "LO1", "--scope", "history"]
        #expect(try cli.run(base + ["--from", "2026-01-01", "--to", "2026-02-01", "--expires", "2026-12-31"], env: ["PATRONVAULT_TOKEN": desk]).status == 70)
        #expect(try cli.run(base + ["--from", "2026-01-01", "--to", "2026-02-01", "--expires", "2026-12-31"]).status == 70, "admins do not file")
        let reversed = try cli.run(base + ["--from", "2026-05-01", "--to", "2026-02-01", "--expires", "2026-12-31"], env: po)
        #expect(reversed.status == 65 && reversed.stderr.contains("--to"), "\(reversed.stderr)")
        #expect(try cli.run(base + ["--from", "2026-01-01", "--to", "2026-02-01", "--expires", "2026-11-01"], env: po).status == 65)
        #expect(try cli.run(base + ["--from", "2026-01-01", "--to", "2026-02-01", "--expires", "2026-12-31", "--delay-notice-until", "2026-11-01"], env: po).status == 65)
        #expect(try cli.run(["legal-order", "file", "--reference", "x", "--patron", "LO1", "--scope", "everything", "--from", "2026-01-01", "--to", "2026-02-01", "--expires", "2026-12-31"], env: po).status == 64)
        #expect(try cli.run(base + ["--from", "2026-13-01", "--to", "2026-02-01", "--expires", "2026-12-31"], env: po).status == 65)
        let unknownCard = try cli.run(["legal-order", "file", "--reference", "x", "--patron", "NOPE", "--scope", "all", "--from", "2026-01-01", "--to", "2026-02-01", "--expires", "2026-12-31"], env: po)
        #expect(unknownCard.status == 66, "\(unknownCard.stderr)")
        #expect(try cli.run(["legal-order", "approve", "LO-zz"], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 65)
        #expect(try cli.run(["legal-order", "approve", "LO-000000000000"], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 66)

        // An order in the March window discloses nothing from October; it expires unused.
        let march = try Self.file(cli, by: officers[0], scope: "history", from: "2026-03-01", to: "2026-03-31", expires: "2026-11-30")
        let expiring = try Self.file(cli, by: officers[0], scope: "registration", from: "2026-01-01", to: "2026-12-31", expires: "2026-11-30")
        for id in [march, expiring] { #expect(try cli.run(["legal-order", "approve", id], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 0) }
        let out = cli.home.appendingPathComponent("march")
        #expect(try cli.run(["legal-order", "disclose", march, "--out", out.path], env: po).status == 0)
        let text = try String(contentsOf: out.appendingPathComponent("disclosure.json"), encoding: .utf8)
        #expect(text.contains("A March Title") && !text.contains("An October Title") && !text.contains("Lena Order"))
        let late = try cli.run(["legal-order", "disclose", expiring, "--out", cli.home.appendingPathComponent("late").path], env: po.merging(["PATRONVAULT_NOW": "2026-12-01T09:00:00Z"]) { _, new in new })
        #expect(late.status == 81 && late.stderr.contains("expired"), "\(late.stderr)")
        let listed = try cli.run(["legal-order", "list", "--json"], env: po.merging(["PATRONVAULT_NOW": "2026-12-01T09:00:00Z"]) { _, new in new })
        let statuses = (listed.json["orders"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }.sorted()
        #expect(statuses == ["disclosed", "expired"], "\(listed.stdout)")

        // A privacy officer's history read without an order is still refused, and recorded.
        #expect(try cli.run(["patron", "history", "LO1", "--purpose", "circulation"], env: po).status == 70)

        // An edited order does not open: the vault refuses it rather than trust the row.
        _ = try cli.rows(
            backend == .postgres
                ? "UPDATE legal_order SET sealed = overlay(sealed placing '\\x00'::bytea from 41 for 1) WHERE id = '\(march)'"
                : "UPDATE legal_order SET sealed = substr(sealed, 1, 40) || x'00' || substr(sealed, 42) WHERE id = '\(march)'")
        #expect(try cli.run(["legal-order", "list"], env: po).status == 74)
    }

    @Test("the whole workflow through the daemon with --server: same refusals, exit codes and bundle; the daemon's JSON matches the OpenAPI names", arguments: Backend.available)
    func throughTheDaemon(_ backend: Backend) throws {
        var (cli, officers, desk) = try Self.library(backend)
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        defer { _ = daemon.stop() }
        cli.environment["PATRONVAULT_SERVER"] = daemon.base.absoluteString
        let id = try Self.file(cli, by: officers[0], scope: "history", from: "2026-09-01", to: "2026-11-30", expires: "2026-12-31")
        #expect(try cli.run(["legal-order", "approve", id], env: ["PATRONVAULT_TOKEN": officers[0]]).status == 70)
        #expect(try cli.run(["legal-order", "approve", id], env: ["PATRONVAULT_TOKEN": desk]).status == 70)
        #expect(try cli.run(["legal-order", "approve", id]).status == 0)
        #expect(try cli.run(["legal-order", "approve", id]).status == 81)
        #expect(try cli.run(["legal-order", "approve", "LO-000000000000"]).status == 66)
        let out = cli.home.appendingPathComponent("remote")
        #expect(try cli.run(["legal-order", "disclose", id, "--out", out.path]).status == 70)
        let disclosed = try cli.run(["legal-order", "disclose", id, "--out", out.path, "--json"], env: ["PATRONVAULT_TOKEN": officers[1]])
        #expect(disclosed.status == 0 && disclosed.json["order"] as? String == id, "\(disclosed.stderr)")
        let text = try String(contentsOf: out.appendingPathComponent("disclosure.json"), encoding: .utf8)
        #expect(text.contains("An October Title") && !text.contains("A March Title") && !text.contains("Lena Order"))
        #expect(try cli.run(["legal-order", "disclose", id, "--out", cli.home.appendingPathComponent("again").path], env: ["PATRONVAULT_TOKEN": officers[1]]).status == 81)
        let listed = try daemon.request("GET", "/v1/legal-orders", token: officers[0])
        let orders = listed.json["orders"] as? [[String: Any]] ?? []
        #expect(listed.status == 200 && orders.count == 1 && orders[0]["status"] as? String == "disclosed" && orders[0]["scope"] as? String == "history")
        let bad = try daemon.request("POST", "/v1/legal-orders", token: officers[0], json: ["reference": "R", "card": "LO1", "scope": "everything", "from": "2026-01-01", "to": "2026-02-01", "expires": "2026-12-31"])
        #expect(bad.status == 422 || bad.status == 400, "\(bad.text)")
        let key = try cli.run(["export", "key"], env: ["PATRONVAULT_SERVER": ""]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cli.run(["legal-order", "verify", out.path, "--export-key", key], env: ["PATRONVAULT_SERVER": ""]).status == 0)
    }
}
