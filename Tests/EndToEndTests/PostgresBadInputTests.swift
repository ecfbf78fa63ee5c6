import Foundation
import Testing

/// What the front ends answer when the PostgreSQL side is wrong: one line naming what, a non-zero
/// exit or a 503 problem document, and nothing half-written.
@Suite("PostgreSQL: bad input and failures", .enabled(if: Backend.server != nil))
struct PostgresBadInputTests {
    @Test("a records URL and a keys URL naming the same database are refused before anything is made")
    func sameDatabaseRefused() throws {
        let cli = try CLI(backend: .postgres)
        defer { cli.removeHome() }
        let config = try String(contentsOfFile: try #require(cli.configFile), encoding: .utf8)
        let records = try #require(config.split(separator: "\n").first { $0.hasPrefix("records-url") }).split(separator: "=")[1].trimmingCharacters(in: .whitespaces)
        let result = try cli.run(["init", "--keys-url", records])
        #expect(result.status == 65)
        #expect(result.stderr == "patronvault: the records URL and the keys URL name the same database (\(records.replacingOccurrences(of: "127.0.0.1:", with: "127.0.0.1:"))); the erasure rule needs the keys in a database of their own\n")
        #expect(try cli.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == ["0"])
    }

    @Test("an unreachable database: the CLI exits 77 and the daemon does not start, each with one line; no password is shown")
    func unreachable() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        let closed = "postgres://pv@127.0.0.1:1/nowhere"
        let result = try cli.run(["staff", "list", "--records-url", closed])
        #expect(result.status == 77)
        #expect(result.stderr == "patronvault: the records database at \(closed) cannot be reached; nothing was written\n")
        let password = try String(contentsOfFile: cli.home.appendingPathComponent("postgres-password").path, encoding: .utf8)
        #expect(!result.stderr.contains(password))

        #expect(throws: CLIFailure.self) { try Daemon(cli, arguments: ["--port", "0", "--config", try #require(cli.configFile), "--records-url", closed]) }
        let daemon = Process()
        daemon.executableURL = Daemon.binary
        daemon.arguments = ["--port", "0", "--config", try #require(cli.configFile), "--records-url", closed]
        daemon.environment = cli.environment
        let errors = Pipe()
        daemon.standardError = errors
        daemon.standardOutput = Pipe()
        try daemon.run()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus != 0)
        #expect(said.contains("the records database at \(closed) cannot be reached"))
    }

    @Test("a schema newer than the binary, and a read-only database, are refused with one line each")
    func newerSchemaAndReadOnly() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        #expect(try cli.run(["staff", "list"]).status == 0)
        _ = try cli.psql("UPDATE patronvault_database SET schema_version = 3", database: 1)
        let newer = try cli.run(["staff", "list"])
        #expect(newer.status == 73)
        #expect(newer.stderr.contains("has schema version 3, newer than this PatronVault reads (2); upgrade PatronVault"))
        // A records database made at version 1 (no change mark) is upgraded when the vault opens.
        _ = try cli.psql("ALTER TABLE audit_state DROP COLUMN change_mark; UPDATE patronvault_database SET schema_version = 1", database: 0)
        _ = try cli.psql("UPDATE patronvault_database SET schema_version = 2", database: 1)
        #expect(try cli.run(["staff", "list"]).status == 0)
        #expect(try cli.psql("SELECT schema_version FROM patronvault_database", database: 0) == ["2"])
        #expect(try cli.run(["audit", "verify"]).status == 0)

        _ = try cli.psql("ALTER DATABASE \(cli.databases[0]) SET default_transaction_read_only = on", on: "postgres")
        let readOnly = try cli.run(["patron", "register", "--card", "RO1", "--name", "Read Only", "--email", "ro@example.org"])
        #expect(readOnly.status == 77)
        #expect(readOnly.stderr.contains("is read-only (a replica?); point the vault at the primary"))
        _ = try cli.psql("ALTER DATABASE \(cli.databases[0]) SET default_transaction_read_only = off", on: "postgres")
        #expect(try cli.run(["patron", "register", "--card", "RO1", "--name", "Read Only", "--email", "ro@example.org"]).status == 0)
    }

    @Test("a password file others can read, a password in a URL, and postgres options without --storage postgres are refused")
    func secretsStayOffArgv() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        let file = cli.home.appendingPathComponent("postgres-password").path
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let open = try cli.run(["staff", "list"])
        #expect(open.status == 71)
        #expect(open.stderr.contains("is readable by group or others (mode 644); run chmod 600 on it"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)

        let inURL = try cli.run(["staff", "list", "--records-url", "postgres://pv:hunter2@127.0.0.1/db"])
        #expect(inURL.status != 0 && inURL.stderr.contains("must not carry a password") && !inURL.stderr.contains("hunter2"))
        let sqlite = try CLI.initialized()
        defer { sqlite.removeHome() }
        let stray = try sqlite.run(["staff", "list", "--keys-url", "postgres://pv@127.0.0.1/db"])
        #expect(stray.status == 65 && stray.stderr.contains("need --storage postgres"))
        let strayTimeout = try sqlite.run(["staff", "list", "--answer-timeout", "5"])
        #expect(strayTimeout.status == 65 && strayTimeout.stderr.contains("need --storage postgres"), "\(strayTimeout.stderr)")
        for bad in ["0", "3601"] {
            let refused = try cli.run(["staff", "list", "--answer-timeout", bad])
            #expect(refused.status == 65 && refused.stderr.contains("--answer-timeout must be between 1 and 3600 seconds"), "\(refused.stderr)")
        }
    }

    @Test("the database gone mid-run: the request gets a 503 problem document, nothing is half-written, and the daemon reconnects once it is back")
    func connectionLost() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "LC1", "--name", "Lost Connection", "--email", "lc@example.org"]).status == 0)
        let token = try #require(cli.environment["PATRONVAULT_TOKEN"])
        let daemon = try Daemon(cli, arguments: ["--port", "0", "--config", try #require(cli.configFile)])
        let lookup: [String: Any] = ["card": "LC1", "purpose": "circulation"]
        #expect(try daemon.request("POST", "/v1/patrons/lookup", token: token, json: lookup).status == 200)
        let before = try cli.psql("SELECT count(*) FROM audit_entry")

        // The records database takes no connections and its server processes end, as in a
        // failover: the daemon's connections are gone and a new one is refused.
        _ = try cli.psql("ALTER DATABASE \(cli.databases[0]) ALLOW_CONNECTIONS false", on: "postgres")
        _ = try cli.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(cli.databases[0])' AND pid <> pg_backend_pid()", on: "postgres")
        let lost = try daemon.request("POST", "/v1/loans", token: token, json: ["card": "LC1", "item": "LC-1", "title": "Half Written"])
        #expect(lost.status == 503)
        #expect(lost.header("Content-Type")?.hasPrefix("application/problem+json") == true)
        #expect(lost.json["title"] as? String == "The vault could not complete the request", "\(lost.text)")
        _ = try cli.psql("ALTER DATABASE \(cli.databases[0]) ALLOW_CONNECTIONS true", on: "postgres")
        #expect(try cli.psql("SELECT count(*) FROM audit_entry") == before)
        #expect(try cli.psql("SELECT count(*) FROM record WHERE item_index IS NOT NULL") == ["0"])

        // The next request finds a new connection.
        let again = try daemon.request("POST", "/v1/loans", token: token, json: ["card": "LC1", "item": "LC-1", "title": "Written Once"])
        #expect(again.status == 201 || again.status == 200, "\(again.text)")
        #expect(try daemon.request("POST", "/v1/patrons/lookup", token: token, json: lookup).status == 200)
        #expect(daemon.stop() == 0)
        #expect(try cli.run(["audit", "verify"]).status == 0)
    }

    @Test("a database that stops answering: requests fail with a 503 after the answer timeout instead of hanging, nothing is half-written, and the daemon answers again once it does")
    func databaseStopsAnswering() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "HA1", "--name", "Hung Answer", "--email", "ha@example.org"]).status == 0)
        let token = try #require(cli.environment["PATRONVAULT_TOKEN"])
        let daemon = try Daemon(cli, arguments: ["--port", "0", "--config", try #require(cli.configFile), "--answer-timeout", "2"])
        let lookup: [String: Any] = ["card": "HA1", "purpose": "circulation"]
        #expect(try daemon.request("POST", "/v1/patrons/lookup", token: token, json: lookup).status == 200)
        let before = try cli.psql("SELECT count(*) FROM audit_entry")

        // Another session holds the staff and audit state tables locked: the server takes the
        // daemon's statements and never answers them, as a stopped server or a network that
        // drops packets would.
        let (holder, input) = try cli.psqlSession(
            "BEGIN; LOCK TABLE staff, audit_state IN ACCESS EXCLUSIVE MODE;",
            until: "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'audit_state' AND l.mode = 'AccessExclusiveLock' AND l.granted")

        let started = Date()
        let hung = try daemon.request("POST", "/v1/loans", token: token, json: ["card": "HA1", "item": "HA-1", "title": "Never Answered"])
        let waited = Date().timeIntervalSince(started)
        #expect(hung.status == 503, "\(hung.text)")
        #expect(hung.header("Content-Type")?.hasPrefix("application/problem+json") == true)
        #expect(waited < 15, "answered after \(waited) s, not after the 2 s timeout")
        #expect(!hung.text.contains("HA1") && !hung.text.contains("Never Answered"))

        input.fileHandleForWriting.write(Data("ROLLBACK;\n".utf8))
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        #expect(try cli.psql("SELECT count(*) FROM audit_entry") == before)
        #expect(try cli.psql("SELECT count(*) FROM record WHERE item_index IS NOT NULL") == ["0"])

        // Every connection the timeout closed is made again by the next request.
        let again = try daemon.request("POST", "/v1/loans", token: token, json: ["card": "HA1", "item": "HA-1", "title": "Written Once"])
        #expect(again.status == 201 || again.status == 200, "\(again.text)")
        #expect(try daemon.request("POST", "/v1/patrons/lookup", token: token, json: lookup).status == 200)
        #expect(daemon.stop() == 0)
        #expect(try cli.run(["audit", "verify"]).status == 0)
    }

    @Test("what works only on a vault folder says so on PostgreSQL instead of claiming there is no vault; a desk account's backup is refused before anything is written; keys status reads the key database")
    func folderOnlyCommands() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "KS1", "--name", "Key Status", "--email", "ks@example.org"]).status == 0)
        let status = try cli.run(["keys", "status", "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.json["currentVersion"] as? Int == 1)
        let versions = status.json["versions"] as? [[String: Any]]
        #expect(versions?.count == 1 && versions?.first?["patronKeys"] as? Int == 1, "\(status.stdout)")
        #expect(try cli.psql("SELECT count(*) FROM patron_key", database: 1) == ["1"])
        let migrate = try cli.run(["migrate", "--to-postgres", "--records", "postgres://pv@127.0.0.1/a", "--keys", "postgres://pv@127.0.0.1/b"])
        #expect(migrate.status == 65 && migrate.stderr.contains("not on a vault on PostgreSQL"), "\(migrate.stderr)")
        // A backup is an admin's: a desk account is refused on PostgreSQL too, and nothing is written.
        let desk = try cli.run(["staff", "add", "desk-pg", "--role", "staff", "--json"]).json["token"] as? String ?? ""
        let refused = try cli.run(["backup", "create", "--out", cli.home.appendingPathComponent("b").path], env: ["PATRONVAULT_TOKEN": desk])
        #expect(refused.status == 70, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("b").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cli.home.path).filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("init pointed at another vault's key database fails without touching it, and takes back the records tables it made")
    func initBesideAnotherVault() throws {
        let existing = try CLI.initialized(backend: .postgres)
        defer { existing.removeHome() }
        #expect(try existing.run(["patron", "register", "--card", "EX1", "--name", "Existing Reader", "--email", "ex@example.org"]).status == 0)
        let server = try #require(Backend.server)
        let second = try CLI(backend: .postgres)
        defer { second.removeHome() }
        let keysOfExisting = "postgres://\(server.user)@\(server.host):\(server.port)/\(existing.databases[1])"
        let refused = try second.run(["init", "--keys-url", keysOfExisting])
        #expect(refused.status == 76, "\(refused.stderr)")
        #expect(refused.stderr.contains("a vault already exists in the key database"))
        #expect(try second.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == ["0"])
        #expect(try existing.run(["patron", "show", "EX1", "--purpose", "circulation"]).status == 0)
        #expect(try existing.run(["audit", "verify"]).status == 0)
    }
}
