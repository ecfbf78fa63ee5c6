import Foundation
import PatronVaultPostgres
import Testing

/// Backups taken while the daemon serves, restored into new folders; an edited backup refused;
/// and the rule that makes erasure reach backups: an old record backup restored beside the
/// current key store cannot open an erased patron, and opens everyone else.
@Suite("Backups", .serialized)
struct BackupTests {
    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int ?? 0) & 0o777
    }

    @Test(
        "a backup taken while the daemon serves restores into a new folder whose trail verifies and whose records open (from PostgreSQL too, and back)",
        arguments: Backend.available)
    func backupAndRestore(_ backend: Backend) throws {
        let cli = try CLI.initialized(backend: backend)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "B1", "--name", "Bea Backup", "--email", "bea@example.org", "--history", "keep"]).status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "B1", "--item", "BK-1", "--title", "Kept Safe"]).status == 0)
        let daemon = try Daemon(cli)
        let token = cli.environment["PATRONVAULT_TOKEN"]
        // Lookups keep writing audit entries through the daemon while the backup is taken.
        let lookups = Thread {
            for _ in 0..<40 { _ = try? daemon.request("POST", "/v1/patrons/lookup", token: token, json: ["card": "B1", "purpose": "circulation"]) }
        }
        lookups.start()
        let out = cli.home.appendingPathComponent("backup-1").path
        let created = try cli.run(["backup", "create", "--out", out, "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect((created.json["files"] as? [[String: Any]])?.count == 2)
        for file in ["records/vault.db", "keys/keys.db", "manifest.json", "manifest.sig"] {
            #expect(Self.mode("\(out)/\(file)") == 0o600, "\(file)")
        }
        #expect(Self.mode("\(out)/records") == 0o700 && Self.mode("\(out)/keys") == 0o700)
        for file in ["records/vault.db", "keys/keys.db"] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(file)"))
            for plaintext in ["Bea Backup", "bea@example.org", "Kept Safe", "BK-1"] {
                #expect(bytes.range(of: Data(plaintext.utf8)) == nil, "\(file) holds plaintext")
            }
        }
        while lookups.isExecuting || !lookups.isFinished { usleep(50_000) }
        #expect(daemon.stop() == 0)

        // The backup holds the entry for itself; the restored vault opens the patron and verifies.
        let restored = cli.home.appendingPathComponent("restored").path
        // The restored vault is a folder, whichever store the backup came from.
        let folder = backend == .postgres ? ["PATRONVAULT_CONFIG": ""] : [:]
        let report = try cli.run(["backup", "restore", out, "--into", restored, "--json"], env: folder)
        #expect(report.status == 0 && report.json["unrecoverablePatrons"] as? Int == 0 && report.json["patrons"] as? Int == 1, "\(report.stderr)")
        let keyFile = cli.vault.appendingPathComponent("master.key").path
        let shown = try cli.run(["patron", "show", "B1", "--purpose", "patron-request", "--vault", restored, "--key-file", keyFile], env: folder)
        #expect(shown.status == 0 && shown.stdout.contains("Bea Backup") && shown.stdout.contains("Kept Safe"), "\(shown.stderr)")
        #expect(try cli.run(["audit", "verify", "--vault", restored, "--key-file", keyFile], env: folder).status == 0)
        let log = try cli.run(["audit", "log", "--action", "keys.manage", "--vault", restored, "--key-file", keyFile, "--json"], env: folder)
        #expect(log.stdout.contains("\"action\":\"keys.manage\""), "the backup's own decision is in the backup")
        if backend == .postgres {
            try Self.migrateBack(restored, keyFile: keyFile, cli: cli)
            try Self.restoreIntoPostgres(out, keyFile: keyFile, cli: cli)
        }

        // Bad input: an existing backup folder, a non-admin, a non-empty target, an edited file
        // or manifest, a backup of another vault: each refused, nothing left behind.
        #expect(try cli.run(["backup", "create", "--out", out]).status == 67)
        let desk = try cli.run(["staff", "add", "desk-b", "--role", "staff", "--json"]).json["token"] as? String ?? ""
        #expect(try cli.run(["backup", "create", "--out", cli.home.appendingPathComponent("b2").path], env: ["PATRONVAULT_TOKEN": desk]).status == 70)
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("b2").path))
        #expect(try cli.run(["backup", "restore", out, "--into", restored]).status == 67)

        let edited = cli.home.appendingPathComponent("edited").path
        try FileManager.default.copyItem(atPath: out, toPath: edited)
        let handle = try #require(FileHandle(forUpdatingAtPath: "\(edited)/records/vault.db"))
        try handle.seek(toOffset: 5_000)
        let byte = try handle.read(upToCount: 1) ?? Data([0])
        try handle.seek(toOffset: 5_000)
        try handle.write(contentsOf: Data([byte[0] ^ 0x01]))
        try handle.close()
        let refused = try cli.run(["backup", "restore", edited, "--into", cli.home.appendingPathComponent("r-edited").path])
        #expect(refused.status == 74 && refused.stderr.contains("does not match its signed manifest"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.home.appendingPathComponent("r-edited").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cli.home.path).filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        let manifestEdited = cli.home.appendingPathComponent("manifest-edited").path
        try FileManager.default.copyItem(atPath: out, toPath: manifestEdited)
        let manifestPath = "\(manifestEdited)/manifest.json"
        let text = try String(contentsOfFile: manifestPath, encoding: .utf8).replacingOccurrences(of: "\"kekVersion\" : 1", with: "\"kekVersion\" : 2")
        try text.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        #expect(try cli.run(["backup", "restore", manifestEdited, "--into", cli.home.appendingPathComponent("r-manifest").path]).status == 74)

        let other = try CLI.initialized()
        defer { other.removeHome() }
        let foreign = try other.run(["backup", "restore", out, "--into", other.home.appendingPathComponent("r-foreign").path])
        #expect(foreign.status != 0 && !FileManager.default.fileExists(atPath: other.home.appendingPathComponent("r-foreign").path))
    }

    /// A backup of a PostgreSQL vault goes back onto PostgreSQL: the restored folder migrated
    /// into a new, empty pair, where the patron opens and the trail verifies.
    static func migrateBack(_ restored: String, keyFile: String, cli: CLI) throws {
        try withNewPair(cli) { pair in
            let migrated = try cli.run(
                ["migrate", "--to-postgres", "--records", pair.records, "--keys", pair.keys, "--records-password-file", pair.passwordFile,
                 "--keys-password-file", pair.passwordFile, "--vault", restored, "--key-file", keyFile, "--json"],
                env: ["PATRONVAULT_CONFIG": ""])
            #expect(migrated.status == 0 && migrated.json["auditIntact"] as? Bool == true, "\(migrated.stderr)")
            let onPostgres = pair.options + ["--vault", restored, "--key-file", keyFile]
            let shown = try cli.run(["patron", "show", "B1", "--purpose", "patron-request"] + onPostgres, env: ["PATRONVAULT_CONFIG": ""])
            #expect(shown.status == 0 && shown.stdout.contains("Kept Safe"), "\(shown.stderr)")
            #expect(try cli.run(["audit", "verify"] + onPostgres, env: ["PATRONVAULT_CONFIG": ""]).status == 0)
        }
    }

    /// Two new, empty databases on the test cluster, dropped after `body`.
    struct NewPair {
        let records: String
        let keys: String
        let passwordFile: String
        /// The CLI's options naming the pair.
        var options: [String] {
            ["--storage", "postgres", "--records-url", records, "--keys-url", keys, "--records-password-file", passwordFile, "--keys-password-file", passwordFile]
        }
    }

    static func withNewPair(_ cli: CLI, _ body: (NewPair) throws -> Void) throws {
        let server = try #require(Backend.server)
        let name = "pv_pair_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let databases = [name + "_records", name + "_keys"]
        for database in databases { try PostgresDatabases.create(database, on: server) }
        defer { for database in databases { try? PostgresDatabases.drop(database, on: server) } }
        let base = "postgres://\(server.user)@\(server.host):\(server.port)"
        try body(NewPair(records: "\(base)/\(databases[0])", keys: "\(base)/\(databases[1])", passwordFile: cli.home.appendingPathComponent("postgres-password").path))
    }

    /// A backup restored straight into a new, empty pair in one command; into a pair that holds
    /// a vault (the live one), refused with nothing left behind.
    static func restoreIntoPostgres(_ backup: String, keyFile: String, cli: CLI) throws {
        try withNewPair(cli) { newPair in try restoreIntoPostgres(backup, keyFile: keyFile, cli: cli, pair: newPair.options) }
    }

    private static func restoreIntoPostgres(_ backup: String, keyFile: String, cli: CLI, pair: [String]) throws {
        let host = cli.home.appendingPathComponent("restored-pg").path
        // A token that is not an admin's of the backup: refused before the pair is touched.
        let wrongToken = try cli.run(
            ["backup", "restore", backup, "--into", host, "--key-file", keyFile] + pair, env: ["PATRONVAULT_CONFIG": "", "PATRONVAULT_TOKEN": "pv_not-a-token"])
        #expect(wrongToken.status != 0 && wrongToken.stderr.split(separator: "\n").count == 1, "\(wrongToken.stderr)")
        #expect(!FileManager.default.fileExists(atPath: host))
        let restored = try cli.run(["backup", "restore", backup, "--into", host, "--key-file", keyFile, "--json"] + pair, env: ["PATRONVAULT_CONFIG": ""])
        #expect(restored.status == 0 && restored.json["storage"] as? String == "postgres" && restored.json["patrons"] as? Int == 1, "\(restored.stderr)")
        #expect((restored.json["tables"] as? [String: Int])?["patron"] == 1)
        #expect(restored.json["backupCreatedAt"] is String && (restored.json["auditEntries"] as? Int ?? 0) > 0, "\(restored.stdout)")
        for file in ["vault.db", "keys.db", "vault.db-wal", "keys.db-wal"] {
            #expect(!FileManager.default.fileExists(atPath: "\(host)/\(file)"), "the host folder keeps no copy of the databases: \(file)")
        }
        let onPostgres = pair + ["--vault", host, "--key-file", keyFile]
        let shown = try cli.run(["patron", "show", "B1", "--purpose", "patron-request"] + onPostgres, env: ["PATRONVAULT_CONFIG": ""])
        #expect(shown.status == 0 && shown.stdout.contains("Kept Safe"), "\(shown.stderr)")
        #expect(try cli.run(["audit", "verify"] + onPostgres, env: ["PATRONVAULT_CONFIG": ""]).status == 0)

        // The live vault's own pair (the test vault's configuration) holds a vault: refused, and
        // the folder the restore made first is gone.
        let live = cli.home.appendingPathComponent("restored-live").path
        let refused = try cli.run(["backup", "restore", backup, "--into", live, "--key-file", keyFile])
        #expect(refused.status != 0 && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: live))
        #expect(try cli.run(["audit", "verify"]).status == 0, "the live vault is untouched")
    }

    @Test("an old record backup restored beside the current key store cannot open an erased patron, and opens everyone else (on PostgreSQL, the key store of a backup taken since, or the key database named by its URL)", arguments: Backend.available)
    func erasureReachesBackups(_ backend: Backend) throws {
        let cli = try CLI.initialized(backend: backend)
        defer { cli.removeHome() }
        for (card, name) in [("E1", "Eve Erased"), ("K1", "Kay Kept")] {
            #expect(try cli.run(["patron", "register", "--card", card, "--name", name, "--email", "\(card.lowercased())@example.org", "--history", "keep"]).status == 0)
            #expect(try cli.run(["loan", "checkout", "--card", card, "--item", "\(card)-1", "--title", "Book of \(name)"]).status == 0)
            #expect(try cli.run(["loan", "return", "--item", "\(card)-1"]).status == 0)
        }
        let out = cli.home.appendingPathComponent("before-erasure").path
        #expect(try cli.run(["backup", "create", "--out", out]).status == 0)
        #expect(try cli.run(["patron", "erase", "E1", "--yes"]).status == 0)
        // The key-store backup is discarded at the erasure deadline; only the record backup is kept.
        try FileManager.default.removeItem(atPath: "\(out)/keys")

        let withoutKeys = try cli.run(["backup", "restore", out, "--into", cli.home.appendingPathComponent("no-keys").path])
        #expect(withoutKeys.status == 66 && withoutKeys.stderr.contains("has no keys/keys.db"), "\(withoutKeys.stderr)")

        // The current key store: the vault folder's keys.db, or on PostgreSQL a backup taken now,
        // whose key store has none of the keys destroyed since.
        var currentKeys = cli.vault.path
        if backend == .postgres {
            currentKeys = cli.home.appendingPathComponent("after-erasure").path
            #expect(try cli.run(["backup", "create", "--out", currentKeys]).status == 0)
        }
        let folder = backend == .postgres ? ["PATRONVAULT_CONFIG": ""] : [:]
        let restored = cli.home.appendingPathComponent("restored").path
        let report = try cli.run(["backup", "restore", out, "--into", restored, "--keys-from", currentKeys, "--json"], env: folder)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.json["patrons"] as? Int == 2 && report.json["unrecoverablePatrons"] as? Int == 1 && report.json["keys"] as? String == "other")
        let keyFile = cli.vault.appendingPathComponent("master.key").path
        let kept = try cli.run(["patron", "show", "K1", "--purpose", "circulation", "--vault", restored, "--key-file", keyFile], env: folder)
        #expect(kept.status == 0 && kept.stdout.contains("Kay Kept"), "\(kept.stderr)")
        let erased = try cli.run(["patron", "show", "E1", "--purpose", "circulation", "--vault", restored, "--key-file", keyFile], env: folder)
        #expect(erased.status != 0 && !erased.stdout.contains("Eve") && !erased.stderr.contains("Eve"))
        // The old record backup still holds E1's sealed rows; no key anywhere opens them.
        for file in try FileManager.default.contentsOfDirectory(atPath: restored) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: restored).appendingPathComponent(file))
            #expect(bytes.range(of: Data("Eve Erased".utf8)) == nil && bytes.range(of: Data("Book of Eve".utf8)) == nil, "\(file)")
        }
        #expect(try cli.run(["audit", "verify", "--vault", restored, "--key-file", keyFile], env: folder).status == 0)

        // On PostgreSQL the live key database itself can be named: it is read in one snapshot.
        if backend == .postgres {
            let server = try #require(Backend.server)
            let base = "postgres://\(server.user)@\(server.host):\(server.port)"
            let env = ["PATRONVAULT_CONFIG": "", "PATRONVAULT_KEYS_PASSWORD": server.password ?? ""]
            let direct = cli.home.appendingPathComponent("restored-direct").path
            let viaURL = try cli.run(["backup", "restore", out, "--into", direct, "--keys-from", "\(base)/\(cli.databases[1])", "--json"], env: env)
            #expect(viaURL.status == 0 && viaURL.json["patrons"] as? Int == 2 && viaURL.json["unrecoverablePatrons"] as? Int == 1, "\(viaURL.stderr)")
            let keptDirect = try cli.run(["patron", "show", "K1", "--purpose", "circulation", "--vault", direct, "--key-file", keyFile], env: env)
            #expect(keptDirect.status == 0 && keptDirect.stdout.contains("Kay Kept"), "\(keptDirect.stderr)")
            let erasedDirect = try cli.run(["patron", "show", "E1", "--purpose", "circulation", "--vault", direct, "--key-file", keyFile], env: env)
            #expect(erasedDirect.status != 0 && !erasedDirect.stdout.contains("Eve"))
            // The records database named as the key database: refused with one line, nothing made.
            let wrongDatabase = cli.home.appendingPathComponent("restored-wrong").path
            let wrong = try cli.run(["backup", "restore", out, "--into", wrongDatabase, "--keys-from", "\(base)/\(cli.databases[0])"], env: env)
            #expect(wrong.status != 0 && wrong.stderr.split(separator: "\n").count == 1 && !wrong.stderr.contains(server.password ?? "-"), "\(wrong.stderr)")
            #expect(!FileManager.default.fileExists(atPath: wrongDatabase))
        }
    }
}
