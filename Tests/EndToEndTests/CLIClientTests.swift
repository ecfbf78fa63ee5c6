import Foundation
import Testing

/// The admin, privacy-officer and desk commands that used to run only on the vault host, now
/// sent to the daemon with `--server`: same output, `--json` and exit codes as direct mode.
@Suite("The CLI as the daemon's client, for admins")
struct CLIClientTests {
    @Test("staff, audit, retention, find, update, PIN reset, sealed export, erasure and the patron's export go through --server", arguments: Backend.available)
    func adminFlows(_ backend: Backend) throws {
        var cli = try CLI.initialized(backend: backend)
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        let direct = cli
        cli.environment["PATRONVAULT_SERVER"] = daemon.base.absoluteString

        // Staff accounts: add, list (the same JSON as direct mode), revoke; the revoked token stops at once.
        let added = try cli.run(["staff", "add", "desk-9", "--role", "staff", "--json"])
        #expect(added.status == 0, "\(added.stderr)")
        let deskToken = added.json["token"] as? String ?? ""
        #expect(deskToken.hasPrefix("pvt_"))
        let listed = try cli.run(["staff", "list", "--json"])
        let listedDirectly = try direct.run(["staff", "list", "--json"])
        #expect(listed.status == 0 && listed.stdout == listedDirectly.stdout, "status \(listed.status): \(listed.stderr)")
        #expect(try cli.run(["staff", "list"]).stdout.contains("desk-9\tstaff"))
        #expect(try cli.run(["stats"], env: ["PATRONVAULT_TOKEN": deskToken]).status == 0)
        #expect(try cli.run(["staff", "add", "desk-10", "--role", "staff"], env: ["PATRONVAULT_TOKEN": deskToken]).status == 70)
        #expect(try cli.run(["staff", "revoke", "desk-9"]).stdout.contains("Revoked 'desk-9'."))
        #expect(try cli.run(["stats"], env: ["PATRONVAULT_TOKEN": deskToken]).status == 68)

        // Desk work on a patron.
        #expect(try cli.run(["patron", "register", "--card", "K1", "--name", "Kim Client", "--email", "kim@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["patron", "register", "--card", "K2", "--name", "Kit Client", "--email", "kit@example.org", "--pin-stdin"], stdin: "1357").status == 0)
        let found = try cli.run(["patron", "find", "--email", "kim@example.org", "--purpose", "circulation", "--json"])
        let foundDirectly = try direct.run(["patron", "find", "--email", "kim@example.org", "--purpose", "circulation", "--json"])
        #expect(found.status == 0 && found.stdout == foundDirectly.stdout)
        #expect(try cli.run(["patron", "find", "--name", "kim client", "--purpose", "circulation"]).stdout.contains("K1\tKim Client"))
        #expect(try cli.run(["patron", "update", "K1", "--phone", "555-0101", "--expires", "2029-01-01"]).stdout.contains("Updated."))
        let badDay = try cli.run(["patron", "update", "K1", "--expires", "someday"])
        #expect(badDay.status == 65, "\(badDay.status) \(badDay.stderr)")
        #expect(try cli.run(["patron", "show", "K1", "--purpose", "account-help"]).stdout.contains("555-0101"))
        let reset = try cli.run(["patron", "reset-pin", "K1", "--purpose", "account-help", "--pin-stdin"], stdin: "9753")
        #expect(reset.status == 0, "\(reset.status) \(reset.stderr)")
        #expect(try cli.run(["patron", "reset-pin", "K1", "--purpose", "circulation", "--pin-stdin"], stdin: "9753").status == 70)
        #expect(try cli.run(["me", "show", "--card", "K1"], env: ["PATRONVAULT_PIN": "9753"]).status == 0)

        // The sealed export at the desk opens only with the patron's PIN, with no vault at all.
        #expect(try cli.run(["loan", "checkout", "--card", "K1", "--item", "KB-1", "--title", "Remote Reading"]).status == 0)
        let sealed = cli.home.appendingPathComponent("k1.sealed").path
        #expect(try cli.run(["patron", "export", "K1", "--purpose", "patron-request", "--out", sealed], env: ["PATRONVAULT_PIN": "9753"]).status == 0)
        let opened = cli.home.appendingPathComponent("k1-opened").path
        #expect(try cli.run(["export", "open", sealed, "--out", opened], env: ["PATRONVAULT_PIN": "9753", "PATRONVAULT_SERVER": ""]).status == 0)
        #expect(try direct.run(["export", "verify", opened]).status == 0)

        // The patron's own export, downloaded and unpacked, verifies like one written directly.
        let mine = cli.home.appendingPathComponent("k1-mine").path
        let exported = try cli.run(["me", "export", "--card", "K1", "--out", mine], env: ["PATRONVAULT_PIN": "9753"])
        #expect(exported.status == 0 && exported.stdout.contains("Your data is in"), "\(exported.stderr)")
        #expect(try direct.run(["export", "verify", mine]).status == 0)
        let again = try cli.run(["me", "export", "--card", "K1", "--out", mine], env: ["PATRONVAULT_PIN": "9753"])
        #expect(again.status == 67, "\(again.status) \(again.stderr)")

        // Erasure at the patron's request, by an admin: confirmed, refused while an item is out.
        #expect(try cli.run(["patron", "erase", "K2"]).status == 65)
        let withLoan = try cli.run(["patron", "erase", "K1", "--yes"])
        #expect(withLoan.status == 81, "\(withLoan.status) \(withLoan.stderr)")
        let receipt = try cli.run(["patron", "erase", "K2", "--yes", "--json"])
        #expect(receipt.status == 0 && receipt.json["format"] as? String == "patronvault.erasure-receipt.v1", "\(receipt.stderr)")

        // Retention: the dry run and a confirmed run; a receipt is written on the vault host only.
        let dry = try cli.run(["retention", "run", "--json"])
        #expect(dry.status == 0 && dry.json["dryRun"] as? Bool == true, "\(dry.stderr)")
        #expect(try cli.run(["retention", "run", "--confirm", "--json"]).json["dryRun"] as? Bool == false)
        #expect(try cli.run(["retention", "run", "--confirm", "--receipt", cli.home.appendingPathComponent("r.json").path]).status == 65)

        // The audit trail: a checkpoint kept outside, verified against it, and the log.
        let checkpoint = cli.home.appendingPathComponent("outside.checkpoint").path
        #expect(try cli.run(["audit", "checkpoint", "--output", checkpoint]).status == 0)
        let verified = try cli.run(["audit", "verify", "--checkpoint", checkpoint])
        #expect(verified.status == 0 && verified.stdout.contains("Audit trail intact"), "\(verified.stderr)")
        let log = try cli.run(["audit", "log", "--action", "patron.reset-pin", "--json"])
        #expect(log.status == 0 && log.stdout.contains("\"frontEnd\":\"daemon\"") && log.stdout.contains("\"decision\":\"forbid\""))
        #expect(try cli.run(["audit", "log", "--staff", "desk-9", "--since", "2026-11-22"]).stdout.contains("stats.read"))
        #expect(daemon.stop() == 0)

        // A trail cut back after the checkpoint is caught through the daemon as directly.
        _ = try direct.rows("DELETE FROM audit_entry WHERE seq = (SELECT MAX(seq) FROM audit_entry)")
        let restarted = try Daemon(direct)
        let cut = try direct.run(["audit", "verify", "--checkpoint", checkpoint], env: ["PATRONVAULT_SERVER": restarted.base.absoluteString])
        #expect(cut.status == 74, "\(cut.stdout) \(cut.stderr)")
        #expect(restarted.stop() == 0)
    }
}
