import Foundation
import Testing

/// Key rotation on a vault in PostgreSQL, where the folder's lock file keeps out only this
/// host's processes: the vault is claimed on the records server, so a rotation is refused while a
/// daemon on another host (another folder) has it open, and a process connecting while a
/// rotation holds it is refused.
@Suite("PostgreSQL: key rotation claims the vault on the server", .enabled(if: Backend.server != nil))
struct PostgresKeyRotationTests {
    @Test("a rotation is refused beside a daemon on another host, then rewraps every key; the signing keys rotate too; a rotation held elsewhere refuses others")
    func rotationAcrossHosts() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        let cards = ["PKR1", "PKR2", "PKR3"]
        for card in cards {
            #expect(try cli.run(["patron", "register", "--card", card, "--name", "Rota \(card)", "--email", "\(card.lowercased())@example.org"]).status == 0)
            #expect(try cli.run(["loan", "checkout", "--card", card, "--item", "IT-\(card)", "--title", "Title of \(card)"]).status == 0)
        }
        let sealed = try cli.psql("SELECT encode(sealed, 'hex') FROM record ORDER BY row_id")

        // A daemon on another host: its own folder (a copy holding the key file), the same databases.
        let otherHost = cli.home.appendingPathComponent("other-host")
        try FileManager.default.copyItem(at: cli.vault, to: otherHost)
        let daemon = try Daemon(cli, arguments: ["--port", "0", "--config", try #require(cli.configFile), "--vault", otherHost.path])
        let newKey = cli.home.appendingPathComponent("master-2.key")
        let beside = try cli.run(["keys", "rotate", "--new-key-file", newKey.path])
        #expect(beside.status == 81 && beside.stderr.contains("open in another process"), "\(beside.stderr)")
        #expect(!FileManager.default.fileExists(atPath: newKey.path))
        let signing = try cli.run(["keys", "rotate-signing"])
        #expect(signing.status == 81, "\(signing.stderr)")
        let token = try #require(cli.environment["PATRONVAULT_TOKEN"])
        #expect(try daemon.request("GET", "/v1/patrons/PKR1?purpose=circulation", token: token).status == 200)
        #expect(daemon.stop() == 0)

        let rotated = try cli.run(["keys", "rotate", "--new-key-file", newKey.path, "--json"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.json["patronKeysRewrapped"] as? Int == 3 && rotated.json["toVersion"] as? Int == 2)
        #expect(try cli.psql("SELECT encode(sealed, 'hex') FROM record ORDER BY row_id") == sealed, "a record was re-encrypted")
        #expect(try cli.psql("SELECT DISTINCT kek_version FROM patron_key", database: 1) == ["2"])
        let env = ["PATRONVAULT_KEY_FILE": newKey.path]
        let status = try cli.run(["keys", "status", "--json"], env: env)
        #expect(status.json["currentVersion"] as? Int == 2)
        #expect((status.json["versions"] as? [[String: Any]])?.map { $0["version"] as? Int } == [2])
        for card in cards {
            let shown = try cli.run(["patron", "show", card, "--purpose", "circulation"], env: env)
            #expect(shown.status == 0 && shown.stdout.contains("IT-\(card)"), "\(shown.stderr)")
        }
        #expect(try cli.run(["patron", "show", "PKR1", "--purpose", "circulation"]).status != 0, "the old key still opens the vault")
        #expect(try cli.run(["keys", "rotate-signing"], env: env).status == 0)
        #expect(try cli.run(["audit", "verify"], env: env).status == 0)

        // A rotation holding the vault on another host (its claim, taken here with psql): a
        // command connecting meanwhile is refused, and works once the claim is gone.
        let number = try #require(try cli.psql("SELECT (('x' || substr(encode(vault_id, 'hex'), 1, 16))::bit(64))::bigint FROM patronvault_database").first)
        let holder = try Self.holdAdvisoryLock(number, cli: cli)
        let held = try cli.run(["patron", "show", "PKR1", "--purpose", "circulation"], env: env)
        #expect(held.status == 81 && held.stderr.contains("being rotated by another process"), "\(held.stderr)")
        try holder.input.fileHandleForWriting.close()
        holder.process.waitUntilExit()
        #expect(try cli.run(["patron", "show", "PKR1", "--purpose", "circulation"], env: env).status == 0)
    }

    /// A psql session holding the exclusive advisory lock `number` until its input closes.
    static func holdAdvisoryLock(_ number: String, cli: CLI) throws -> (process: Process, input: Pipe) {
        try cli.psqlSession(
            "SELECT pg_advisory_lock(\(number));", until: "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND granted")
    }
}
