import Foundation
import GRDB
import PatronVaultCore
import Testing

/// Master key rotation and passphrase change from the CLI: every key rewrapped, no record
/// re-encrypted, the old key useless afterwards; refused beside another process, over an
/// existing file, without an admin; an interrupted rotation keeps the vault shut until the same
/// new key finishes it, through twenty kill -9s.
@Suite("Master key rotation")
struct KeyRotationTests {
    /// Every record's sealed bytes, by id: a rotation must leave them as they were.
    static func sealedRecords(_ cli: CLI) throws -> [Data: Data] {
        let queue = try cli.database("vault.db")
        defer { try? queue.close() }
        return try queue.read { db in
            var out: [Data: Data] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, sealed FROM record") { out[row[0]] = row[1] }
            return out
        }
    }

    static func status(_ cli: CLI, env: [String: String] = [:]) throws -> [String: Any] {
        let result = try cli.run(["keys", "status", "--json"], env: env)
        guard result.status == 0 else { throw CLIFailure(message: "keys status failed: \(result.stderr)") }
        return result.json
    }

    /// Opens the vault in this process with `keyFile` and reads every patron's profile and loans
    /// through the desk: each patron key and record key must open.
    static func readEveryPatron(_ cli: CLI, cards: [String], keyFile: URL) async throws -> Int {
        var configuration = VaultConfiguration()
        configuration.clock = FixedClock(try #require(ISO8601DateFormatter().date(from: "2026-11-22T10:00:00Z")))
        let vault = try await Vault.open(
            at: cli.vault, masterKey: .keyFile(keyFile), policies: try Vault.loadPolicies(from: CLI.policies), configuration: configuration)
        var read = 0
        do {
            let admin = try await vault.signIn.staff(token: try #require(cli.environment["PATRONVAULT_TOKEN"]))
            for card in cards {
                let profile = try await vault.desk.patronProfile(card: card, purpose: "circulation", by: admin)
                if profile.card == card, profile.openLoans?.count == 1 { read += 1 }
            }
        } catch {
            await vault.close()
            throw error
        }
        await vault.close()
        return read
    }

    @Test("a rotation rewraps every key without re-encrypting a record; the old key then opens nothing and can be deleted")
    func rotateThenDeleteOldKey() async throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let cards = (1...4).map { "ROT\($0)" }
        for card in cards {
            #expect(try cli.run(["patron", "register", "--card", card, "--name", "Rota \(card)", "--email", "\(card.lowercased())@example.org", "--history", "keep"]).status == 0)
            #expect(try cli.run(["loan", "checkout", "--card", card, "--item", "IT-\(card)", "--title", "Title of \(card)"]).status == 0)
        }
        let before = try Self.sealedRecords(cli)
        let status = try Self.status(cli)
        #expect(status["currentVersion"] as? Int == 1)
        #expect((status["versions"] as? [[String: Any]])?.first?["patronKeys"] as? Int == 4)

        let newKey = cli.home.appendingPathComponent("master-2.key")
        let rotated = try cli.run(["keys", "rotate", "--new-key-file", newKey.path, "--json"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.json["patronKeysRewrapped"] as? Int == 4 && rotated.json["toVersion"] as? Int == 2 && rotated.json["resumed"] as? Bool == false)
        let mode = (try FileManager.default.attributesOfItem(atPath: newKey.path)[.posixPermissions] as? Int ?? 0) & 0o777
        #expect(mode == 0o600)
        #expect(!rotated.stdout.contains(try String(contentsOf: newKey, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(try Self.sealedRecords(cli) == before, "a record was re-encrypted")

        let after = try Self.status(cli)
        #expect(after["currentVersion"] as? Int == 2 && after["rotation"] == nil)
        let versions = try #require(after["versions"] as? [[String: Any]])
        #expect(versions.count == 1 && versions[0]["version"] as? Int == 2 && versions[0]["patronKeys"] as? Int == 4 && versions[0]["systemKeys"] as? Int == 3)

        // The old key is refused; deleted, the vault opens with the new one and everything reads.
        let old = try cli.run(["patron", "show", "ROT1", "--purpose", "circulation"])
        #expect(old.status == 72, "\(old.stderr)")
        try FileManager.default.removeItem(at: cli.vault.appendingPathComponent("master.key"))
        let env = ["PATRONVAULT_KEY_FILE": newKey.path]
        let shown = try cli.run(["patron", "show", "ROT3", "--purpose", "patron-request"], env: env)
        #expect(shown.status == 0 && shown.stdout.contains("Title of ROT3"), "\(shown.stderr)")
        #expect(try await Self.readEveryPatron(cli, cards: cards, keyFile: newKey) == 4)
        #expect(try cli.run(["audit", "verify"], env: env).status == 0)
        let log = try cli.run(["audit", "log", "--action", "keys.manage", "--json"], env: env)
        #expect(log.status == 0 && log.stdout.contains("\"decision\":\"permit\""), "\(log.stdout) \(log.stderr)")

        // A second rotation, to a passphrase and back to a key file, keeps every record readable.
        let toPassphrase = try cli.run(["keys", "change-passphrase"], env: env.merging(["PATRONVAULT_NEW_PASSPHRASE": "long enough passphrase 1"]) { _, new in new })
        #expect(toPassphrase.status == 0, "\(toPassphrase.stderr)")
        #expect(try cli.run(["patron", "show", "ROT2", "--purpose", "circulation"], env: env).status == 72)
        let passphrase = ["PATRONVAULT_PASSPHRASE": "long enough passphrase 1"]
        #expect(try Self.status(cli)["keySource"] as? String == "passphrase")
        let changed = try cli.run(["keys", "change-passphrase"], env: passphrase.merging(["PATRONVAULT_NEW_PASSPHRASE": "another long passphrase 2"]) { _, new in new })
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(try cli.run(["patron", "show", "ROT2", "--purpose", "circulation"], env: passphrase).status == 72)
        let third = cli.home.appendingPathComponent("master-4.key")
        #expect(try cli.run(["keys", "rotate", "--new-key-file", third.path], env: ["PATRONVAULT_PASSPHRASE": "another long passphrase 2"]).status == 0)
        #expect(try Self.status(cli)["currentVersion"] as? Int == 5)
        #expect(try await Self.readEveryPatron(cli, cards: cards, keyFile: third) == 4)
        #expect(try Self.sealedRecords(cli) == before)
    }

    @Test("rotation refused beside another process, over an existing file, to the same key, for a non-admin, with a zero batch, through --server")
    func refusals() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RF1", "--name", "Refused Rotation", "--email", "rf@example.org"]).status == 0)
        let existing = cli.home.appendingPathComponent("exists.key")
        try Data("not a key\n".utf8).write(to: existing)
        let overExisting = try cli.run(["keys", "rotate", "--new-key-file", existing.path])
        #expect(overExisting.status == 67 && overExisting.stderr.contains("already exists"), "\(overExisting.stderr)")
        #expect(try String(contentsOf: existing, encoding: .utf8) == "not a key\n")
        let current = cli.vault.appendingPathComponent("master.key")
        #expect(try cli.run(["keys", "rotate", "--new-key-file", current.path]).status == 67)

        let desk = try cli.run(["staff", "add", "desk-r", "--role", "staff", "--json"]).json["token"] as? String ?? ""
        let fresh = cli.home.appendingPathComponent("fresh.key")
        #expect(try cli.run(["keys", "rotate", "--new-key-file", fresh.path], env: ["PATRONVAULT_TOKEN": desk]).status == 70)
        #expect(!FileManager.default.fileExists(atPath: fresh.path), "a refused rotation wrote a key file")
        #expect(try cli.run(["keys", "rotate", "--new-key-file", fresh.path, "--batch-size", "0"]).status == 65)
        #expect(try cli.run(["keys", "rotate", "--new-key-file", fresh.path, "--server", "http://127.0.0.1:9"]).status == 65)
        let noPassphrase = try cli.run(["keys", "change-passphrase"])
        #expect(noPassphrase.status != 0 && noPassphrase.stderr.contains("PATRONVAULT_NEW_PASSPHRASE"))
        let short = try cli.run(["keys", "change-passphrase"], env: ["PATRONVAULT_NEW_PASSPHRASE": "short"])
        #expect(short.status == 65, "\(short.stderr)")

        // The daemon holds the vault: a rotation beside it would leave keys the new key cannot open.
        let daemon = try Daemon(cli)
        let beside = try cli.run(["keys", "rotate", "--new-key-file", fresh.path])
        #expect(beside.status == 81 && beside.stderr.contains("open in another process"), "\(beside.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
        #expect(daemon.stop() == 0)
        #expect(try Self.status(cli)["currentVersion"] as? Int == 1)
        #expect(try cli.run(["keys", "rotate", "--new-key-file", fresh.path]).status == 0)
        #expect(try cli.run(["audit", "verify"], env: ["PATRONVAULT_KEY_FILE": fresh.path]).status == 0)
    }

    @Test("an interrupted rotation keeps the vault shut, names the way out, refuses another new key, and finishes with the same one")
    func interruptedByAnEditedKey() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        for i in 0..<5 {
            #expect(try cli.run(["patron", "register", "--card", "IR\(i)", "--name", "Interrupted \(i)", "--email", "ir\(i)@example.org"]).status == 0)
        }
        // An edited patron key stops the rotation after it was recorded, as a crash would: the
        // first batch of two is committed, the second (holding the edited key) is not.
        let keys = try cli.database("keys.db")
        let original = try keys.read { try Data.fetchOne($0, sql: "SELECT wrapped FROM patron_key ORDER BY rowid LIMIT 1 OFFSET 3") }
        var flipped = [UInt8](try #require(original))
        flipped[30] ^= 1
        try keys.write { try $0.execute(sql: "UPDATE patron_key SET wrapped = ? WHERE rowid = (SELECT rowid FROM patron_key ORDER BY rowid LIMIT 1 OFFSET 3)", arguments: [Data(flipped)]) }
        let newKey = cli.home.appendingPathComponent("next.key")
        let stopped = try cli.run(["keys", "rotate", "--new-key-file", newKey.path, "--batch-size", "2"])
        #expect(stopped.status == 74, "\(stopped.stderr)")
        let status = try Self.status(cli)
        let rotation = try #require(status["rotation"] as? [String: Any])
        #expect(rotation["toVersion"] as? Int == 2 && rotation["patronKeysLeft"] as? Int == 3, "\(status)")

        for keyFile in [cli.vault.appendingPathComponent("master.key").path, newKey.path] {
            let shut = try cli.run(["patron", "show", "IR0", "--purpose", "circulation"], env: ["PATRONVAULT_KEY_FILE": keyFile])
            #expect(shut.status == 82 && shut.stderr.contains("keys rotate"), "\(shut.stderr)")
        }
        let other = cli.home.appendingPathComponent("other.key")
        #expect(try cli.run(["keys", "rotate", "--new-key-file", other.path]).status == 72)
        #expect(try cli.run(["keys", "change-passphrase"], env: ["PATRONVAULT_NEW_PASSPHRASE": "a passphrase instead"]).status == 72)

        try keys.write { try $0.execute(sql: "UPDATE patron_key SET wrapped = ? WHERE rowid = (SELECT rowid FROM patron_key ORDER BY rowid LIMIT 1 OFFSET 3)", arguments: [original]) }
        try keys.close()
        let finished = try cli.run(["keys", "rotate", "--new-key-file", newKey.path, "--json"])
        #expect(finished.status == 0 && finished.json["resumed"] as? Bool == true, "\(finished.stderr)")
        #expect(try Self.status(cli)["rotation"] == nil)
        let env = ["PATRONVAULT_KEY_FILE": newKey.path]
        for i in 0..<5 { #expect(try cli.run(["patron", "show", "IR\(i)", "--purpose", "circulation"], env: env).status == 0) }
    }

    @Test("twenty kill -9s of rotations at random moments: the vault always ends readable with the key the key store names")
    func killedRotations() async throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let file = cli.home.appendingPathComponent("patrons.jsonl")
        try ImportCrashTests.jsonl(0..<3_000, prefix: "KR", loans: true).write(to: file, atomically: true, encoding: .utf8)
        #expect(try cli.run(["patron", "import", file.path]).status == 0)
        let records = try Self.sealedRecords(cli)
        var keyFiles: [Int: URL] = [1: cli.vault.appendingPathComponent("master.key")]
        var generator = SystemRandomNumberGenerator()
        var outcomes = (finished: 0, interrupted: 0, notStarted: 0)
        for round in 0..<20 {
            let before = try Self.status(cli)
            let current = try #require(before["currentVersion"] as? Int)
            let target = current + 1
            let newKey = keyFiles[target] ?? cli.home.appendingPathComponent("master-\(target).key")
            keyFiles[target] = newKey
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = ["keys", "rotate", "--new-key-file", newKey.path, "--batch-size", "40"]
            process.environment = cli.environment.merging(["PATRONVAULT_KEY_FILE": keyFiles[current]!.path]) { _, new in new }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 5_000...260_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let after = try Self.status(cli)
            let version = try #require(after["currentVersion"] as? Int)
            let counted = (after["versions"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["patronKeys"] as? Int ?? 0) }
            #expect(counted == 3_000, "round \(round): \(counted) patron keys")
            if after["rotation"] != nil {
                outcomes.interrupted += 1
                #expect(version == current)
                let shut = try cli.run(["staff", "list"], env: ["PATRONVAULT_KEY_FILE": keyFiles[current]!.path])
                #expect(shut.status == 82, "round \(round): \(shut.stderr)")
            } else {
                if version == target { outcomes.finished += 1 } else { outcomes.notStarted += 1 }
                // A key file written but never recorded (killed in between) is the admin's to remove.
                if version == current, FileManager.default.fileExists(atPath: newKey.path) {
                    try FileManager.default.removeItem(at: newKey)
                    keyFiles[target] = nil
                }
                let open = try cli.run(["patron", "show", "KR\(round * 149)", "--purpose", "circulation"], env: ["PATRONVAULT_KEY_FILE": keyFiles[version]!.path])
                #expect(open.status == 0, "round \(round): \(open.stderr)")
            }
        }
        // Whatever the last kill left is finished by running the same rotation again.
        let last = try Self.status(cli)
        var version = try #require(last["currentVersion"] as? Int)
        if last["rotation"] != nil {
            let finish = try cli.run(["keys", "rotate", "--new-key-file", keyFiles[version + 1]!.path], env: ["PATRONVAULT_KEY_FILE": keyFiles[version]!.path])
            #expect(finish.status == 0, "\(finish.stderr)")
            version += 1
        }
        let readable = try await Self.readEveryPatron(cli, cards: (0..<3_000).map { "KR\($0)" }, keyFile: keyFiles[version]!)
        #expect(readable == 3_000)
        #expect(try Self.sealedRecords(cli) == records, "a record was re-encrypted")
        #expect(try cli.run(["audit", "verify"], env: ["PATRONVAULT_KEY_FILE": keyFiles[version]!.path]).status == 0)
        print("killed rotations: \(outcomes.finished) finished, \(outcomes.interrupted) interrupted mid-way, \(outcomes.notStarted) killed before recording; ended at version \(version)")
    }

    @Test("rotate-signing: old checkpoints, backups, exports and receipts still verify; new ones do not verify under the old keys; an edited retired-key list is refused")
    func signingKeyRotation() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "SG1", "--name", "Sig Nature", "--email", "sg1@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "SG1", "--item", "SG-I1", "--title", "Signed Title"]).status == 0)
        #expect(try cli.run(["loan", "return", "--item", "SG-I1"]).status == 0)
        let checkpoint = cli.home.appendingPathComponent("before.checkpoint").path
        #expect(try cli.run(["audit", "checkpoint", "--output", checkpoint]).status == 0)
        let exportBefore = cli.home.appendingPathComponent("export-before").path
        #expect(try cli.run(["me", "export", "--card", "SG1", "--pin-stdin", "--out", exportBefore], stdin: "2468").status == 0)
        let backup = cli.home.appendingPathComponent("backup-before").path
        #expect(try cli.run(["backup", "create", "--out", backup]).status == 0)
        let oldKey = try cli.run(["export", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let daemon = try Daemon(cli)
        #expect(try cli.run(["keys", "rotate-signing"]).status == 81, "a daemon would keep signing with the old keys")
        #expect(daemon.stop() == 0)
        let desk = try cli.run(["staff", "add", "desk-sg", "--role", "staff", "--json"]).json["token"] as? String ?? ""
        #expect(try cli.run(["keys", "rotate-signing"], env: ["PATRONVAULT_TOKEN": desk]).status == 70)

        let rotated = try cli.run(["keys", "rotate-signing", "--json"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.json["retiredExportKey"] as? String == oldKey)
        let newKey = try cli.run(["export", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newKey != oldKey && rotated.json["exportKey"] as? String == newKey)
        let status = try Self.status(cli)
        let retired = status["retiredSigningKeys"] as? [[String: Any]] ?? []
        #expect(retired.count == 1 && retired.first?["exportKey"] as? String == oldKey, "\(status)")

        // What the old keys signed still verifies, by default and with the old key named.
        #expect(try cli.run(["audit", "verify"]).status == 0)
        let external = try cli.run(["audit", "verify", "--checkpoint", checkpoint])
        #expect(external.status == 0, "\(external.stdout) \(external.stderr)")
        #expect(try cli.run(["export", "verify", exportBefore]).status == 0)
        #expect(try cli.run(["export", "verify", exportBefore, "--export-key", oldKey]).status == 0)
        #expect(try cli.run(["export", "verify", exportBefore, "--export-key", newKey]).status == 74)
        let restored = try cli.run(["backup", "restore", backup, "--into", cli.home.appendingPathComponent("restored").path, "--keys-from", cli.vault.path])
        #expect(restored.status == 0, "a backup signed before the rotation is refused: \(restored.stderr)")

        // What is signed now verifies with the new key only; new checkpoints too.
        let exportAfter = cli.home.appendingPathComponent("export-after").path
        #expect(try cli.run(["me", "export", "--card", "SG1", "--pin-stdin", "--out", exportAfter], stdin: "2468").status == 0)
        #expect(try cli.run(["export", "verify", exportAfter]).status == 0)
        #expect(try cli.run(["export", "verify", exportAfter, "--export-key", oldKey]).status == 74)
        #expect(try cli.run(["audit", "checkpoint", "--output", cli.home.appendingPathComponent("after.checkpoint").path]).status == 0)
        #expect(try cli.run(["audit", "verify"]).status == 0)

        // The retired list is MACed: a key store editor cannot put a key of their own in it.
        let keys = try cli.database("keys.db")
        let stored = try #require(try keys.read { try Data.fetchOne($0, sql: "SELECT value FROM key_meta WHERE name = 'retired_signing_keys'") })
        var edited = stored
        edited[3] ^= 0x01
        try keys.write { try $0.execute(sql: "UPDATE key_meta SET value = ? WHERE name = 'retired_signing_keys'", arguments: [edited]) }
        #expect(try cli.run(["staff", "list"]).status == 74)
        try keys.write { try $0.execute(sql: "DELETE FROM key_meta WHERE name = 'retired_signing_keys'") }
        let dropped = try cli.run(["audit", "verify"])
        #expect(dropped.status != 0, "with the retired keys removed, the old checkpoints must fail: \(dropped.stdout)")
        try keys.write { try $0.execute(sql: "INSERT INTO key_meta(name, value) VALUES ('retired_signing_keys', ?)", arguments: [stored]) }
        try keys.close()
        #expect(try cli.run(["audit", "verify"]).status == 0)
    }
}
