import Foundation
import GRDB
import Testing

/// Running the daemon: its settings file, the audit status `/health` reports, and policy
/// questions answered with the rules the daemon enforces.
@Suite("Running the daemon")
struct DaemonOperationsTests {
    static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    @Test("/health reports the trail intact with its entry count, and 503 within seconds of an entry being edited in its database", arguments: Backend.available)
    func healthSeesTampering(_ backend: Backend) throws {
        let cli = try CLI.initialized(backend: backend)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "H1", "--name", "Hal Health", "--email", "hal@example.org"]).status == 0)
        for _ in 0..<3 { #expect(try cli.run(["patron", "show", "H1", "--purpose", "circulation"]).status == 0) }
        let daemon = try Daemon(cli, arguments: ["--port", "0", "--audit-check-interval", "1"])
        #expect(try Self.waitFor(10) { try daemon.request("GET", "/health").json["audit"].flatMap { ($0 as? [String: Any])?["state"] as? String } == "intact" })
        let healthy = try daemon.request("GET", "/health")
        let audit = healthy.json["audit"] as? [String: Any] ?? [:]
        #expect(healthy.status == 200 && healthy.json["status"] as? String == "ok")
        #expect((audit["entries"] as? Int ?? 0) >= 4 && audit["checkedAt"] is String)
        // The check itself adds nothing to the trail.
        let count = audit["entries"] as? Int ?? 0
        usleep(2_500_000)
        #expect((try daemon.request("GET", "/health").json["audit"] as? [String: Any])?["entries"] as? Int == count)

        _ = try cli.rows("UPDATE audit_entry SET purpose = 'fines' WHERE seq = 3")
        #expect(try Self.waitFor(10) { try daemon.request("GET", "/health").status == 503 })
        let broken = try daemon.request("GET", "/health")
        #expect(broken.json["status"] as? String == "audit-broken")
        #expect((broken.json["audit"] as? [String: Any])?["state"] as? String == "broken")
        #expect(daemon.stop() == 0)
    }

    @Test("--config sets what the options would, the command line wins, and a bad, unknown or writable file is refused with FILE:LINE")
    func configurationFile() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let file = cli.home.appendingPathComponent("patronvaultd.conf")
        try """
            # the daemon's settings
            vault = "\(cli.environment["PATRONVAULT_HOME"]!)"
            port = 1          # the command line's --port 0 wins
            session-idle = 2
            audit-check-interval = 60
            """.write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o600)
        var configured = cli
        configured.environment["PATRONVAULT_HOME"] = cli.home.appendingPathComponent("elsewhere").path
        let daemon = try Daemon(configured, arguments: ["--config", file.path, "--port", "0"])
        #expect(daemon.base.port != 1)
        // The vault from the file opened (the environment pointed elsewhere), and sessions idle out after 2 s.
        #expect(try cli.run(["patron", "register", "--card", "F1", "--name", "Fay File", "--email", "fay@example.org", "--pin-stdin"], stdin: "2468").status == 0)
        let session = try daemon.request("POST", "/v1/sessions", json: ["card": "F1", "pin": "2468"])
        #expect(session.status == 201)
        usleep(3_000_000)
        #expect(try daemon.request("GET", "/v1/me", token: session.json["token"] as? String).status == 401)
        #expect(daemon.stop() == 0)

        func refused(_ text: String, mode: mode_t = 0o600) throws -> String {
            try text.write(to: file, atomically: true, encoding: .utf8)
            chmod(file.path, mode)
            let run = try cli.run(["--config", file.path, "--port", "0"], binary: Daemon.binary)
            #expect(run.status == 64, "\(text): \(run.stderr)")
            return run.stderr
        }
        #expect(try refused("port = 0\nmaster-key = x\n").contains("patronvaultd.conf:2: unknown setting 'master-key'"))
        #expect(try refused("port 0\n").contains(":1: expected name = value"))
        #expect(try refused("port = 0\nport = 1\n").contains(":2: 'port' is set twice"))
        #expect(try refused("insecure-bind = yes\n").contains(":1: 'insecure-bind' is true or false"))
        #expect(try refused("vault = \"unclosed\n").contains(":1: the quoted value is not closed"))
        #expect(try refused("host = \"0.0.0.0\"\n").contains("refusing to listen on 0.0.0.0 without TLS"))
        #expect(try refused("port = 0\n", mode: 0o666).contains("can be changed by group or others"))
        // Windows line endings end lines too: the comment does not swallow the file.
        #expect(try refused("# saved on Windows\r\nhost = \"0.0.0.0\"\r\n").contains("refusing to listen on 0.0.0.0 without TLS"))
        // A value is never taken for a flag, nor a flag for a value.
        #expect(try refused("host = false\n").contains("refusing to listen on false without TLS"))
        #expect(try refused("port =\n").contains(":1: a value is missing"))
    }

    @Test("one patron holds at most five sessions: signing in again closes their oldest, never another patron's")
    func sessionsPerPatron() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "S1", "--name", "Sid Sessions", "--email", "sid@example.org", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["patron", "register", "--card", "S2", "--name", "Sue Sessions", "--email", "sue@example.org", "--pin-stdin"], stdin: "1357").status == 0)
        let daemon = try Daemon(cli)
        let other = try daemon.request("POST", "/v1/sessions", json: ["card": "S2", "pin": "1357"]).json["token"] as? String
        var tokens: [String?] = []
        for _ in 0..<7 {
            tokens.append(try daemon.request("POST", "/v1/sessions", json: ["card": "S1", "pin": "2468"]).json["token"] as? String)
        }
        let statuses = try tokens.map { try daemon.request("GET", "/v1/me", token: $0).status }
        #expect(statuses == [401, 401, 200, 200, 200, 200, 200], "\(statuses)")
        #expect(try daemon.request("GET", "/v1/me", token: other).status == 200)
        #expect(daemon.stop() == 0)
    }

    @Test("policy explain through the daemon answers with the rules it enforces, as the folder does, and is recorded")
    func explainThroughDaemon() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        let question = ["policy", "explain", "--principal", "role=staff,id=s1", "--action", "history.read", "--resource", "kind=history,patron=p1,state=closed", "--json"]
        let direct = try cli.run(question)
        let remote = try cli.run(question, env: ["PATRONVAULT_SERVER": daemon.base.absoluteString])
        #expect(direct.status == 0 && remote.status == 0, "\(remote.stderr)")
        #expect(remote.json["effect"] as? String == "forbid" && (remote.json["rules"] as? [String])?.contains("history-only-for-the-patron") == true)
        #expect(remote.json["digest"] as? String == direct.json["digest"] as? String)
        #expect(remote.json["reason"] as? String == direct.json["reason"] as? String)

        let bad = try daemon.request("POST", "/v1/policy/explain", token: cli.environment["PATRONVAULT_TOKEN"], json: ["principal": "role=librarian", "action": "patron.read", "resource": "kind=registration"])
        #expect(bad.status == 422 && (bad.json["detail"] as? String ?? "").hasPrefix("principal:"))
        #expect(try daemon.request("POST", "/v1/policy/explain", json: ["principal": "role=staff,id=s1", "action": "patron.read", "resource": "kind=registration"]).status == 401)
        #expect(daemon.stop() == 0)
        let log = try cli.run(["audit", "log", "--action", "policy.read", "--json"])
        #expect(log.stdout.contains("\"frontEnd\":\"daemon\""), "\(log.stdout)")
    }
}
