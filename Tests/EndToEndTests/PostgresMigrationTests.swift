import Foundation
import PatronVaultPostgres
import Testing

/// Moving an embedded vault into a PostgreSQL pair with `patronvault migrate`.
@Suite("PostgreSQL: migrating a vault folder", .enabled(if: Backend.server != nil))
struct PostgresMigrationTests {
    @Test("a dry run counts and copies nothing; the migration copies records, keys and trail, which verify there; the patron reads the same; a second run is refused")
    func migrateFolder() throws {
        var cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "MG1", "--name", "Migrating Reader", "--email", "mg@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["patron", "register", "--card", "MG2", "--name", "Other Reader", "--email", "other@example.org"]).status == 0)
        for (card, item) in [("MG1", "MG-1"), ("MG1", "MG-2"), ("MG2", "MG-3")] {
            #expect(try cli.run(["loan", "checkout", "--card", card, "--item", item, "--title", "Title of \(item)"]).status == 0)
        }
        #expect(try cli.run(["loan", "return", "--item", "MG-1"]).status == 0)
        #expect(try cli.run(["loan", "return", "--item", "MG-3"]).status == 0)
        let historyBefore = try cli.run(["me", "history", "--card", "MG1", "--json"], env: ["PATRONVAULT_PIN": "2468"])
        #expect(historyBefore.status == 0)

        let server = try #require(Backend.server)
        let name = "pv_mig_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let databases = [name + "_records", name + "_keys"]
        for database in databases { try PostgresDatabases.create(database, on: server) }
        defer { for database in databases { try? PostgresDatabases.drop(database, on: server) } }
        let passwordFile = cli.home.appendingPathComponent("pg-password")
        FileManager.default.createFile(atPath: passwordFile.path, contents: Data((server.password ?? "").utf8), attributes: [.posixPermissions: 0o600])
        let base = "postgres://\(server.user)@\(server.host):\(server.port)"
        let migrate = ["migrate", "--to-postgres", "--records", "\(base)/\(databases[0])", "--keys", "\(base)/\(databases[1])",
                       "--records-password-file", passwordFile.path, "--keys-password-file", passwordFile.path, "--json"]

        let dry = try cli.run(migrate + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let planned = Dictionary(uniqueKeysWithValues: (dry.json["tables"] as? [[String: Any]] ?? []).map { ($0["table"] as? String ?? "", $0["rows"] as? Int ?? -1) })
        #expect(planned["patron"] == 2 && planned["record"] == 4 && planned["patron_key"] == 2)
        #expect(try cli.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", on: databases[0]) == ["0"])

        let copied = try cli.run(migrate)
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(copied.json["auditIntact"] as? Bool == true)
        let rows = Dictionary(uniqueKeysWithValues: (copied.json["tables"] as? [[String: Any]] ?? []).map { ($0["table"] as? String ?? "", $0["rows"] as? Int ?? -1) })
        #expect(rows["patron"] == 2 && rows["record"] == 4 && rows["record_key"] == planned["record_key"])
        #expect(try cli.psql("SELECT count(*) FROM record", on: databases[0]) == ["4"])

        // The front ends pointed at the pair read what the folder held.
        let config = cli.home.appendingPathComponent("pg.conf")
        try """
            storage = postgres
            records-url = \(base)/\(databases[0])
            keys-url = \(base)/\(databases[1])
            records-password-file = \(passwordFile.path)
            keys-password-file = \(passwordFile.path)
            """.write(to: config, atomically: true, encoding: .utf8)
        cli.environment["PATRONVAULT_CONFIG"] = config.path
        let historyAfter = try cli.run(["me", "history", "--card", "MG1", "--json"], env: ["PATRONVAULT_PIN": "2468"])
        #expect(historyAfter.status == 0, "\(historyAfter.stderr)")
        #expect(historyAfter.stdout == historyBefore.stdout)
        #expect(try cli.run(["loan", "return", "--item", "MG-2"]).status == 0)
        #expect(try cli.run(["audit", "verify"]).status == 0)

        cli.environment["PATRONVAULT_CONFIG"] = nil
        let again = try cli.run(migrate)
        #expect(again.status == 76, "\(again.stderr)")
        #expect(again.stderr.contains("a vault already exists in the records database"))
    }
}
