import Foundation
import GRDB
import Testing

/// The audit trail's acceptance path through the CLI.
@Suite("Audit trail through the CLI")
struct AuditTests {
    static func staffAndPatron(_ backend: Backend = .sqlite) throws -> (CLI, staffToken: String) {
        let cli = try CLI.initialized(backend: backend)
        let added = try cli.run(["staff", "add", "sam", "--role", "staff", "--json"])
        let token = try #require(added.json["token"] as? String)
        #expect(try cli.run(["patron", "register", "--card", "PVA1", "--name", "Iris Fenwick", "--email", "iris@example.org", "--history", "keep", "--pin-stdin"], stdin: "8642").status == 0)
        return (cli, token)
    }

    @Test("a patron sees which staff member looked at their record, when and why, and the refused attempt", arguments: Backend.available)
    func meAccesses(_ backend: Backend) throws {
        var (cli, sam) = try Self.staffAndPatron(backend)
        defer { cli.removeHome() }
        cli.environment["PATRONVAULT_NOW"] = "2026-11-23T09:30:00Z"
        #expect(try cli.run(["patron", "show", "PVA1", "--purpose", "circulation"], env: ["PATRONVAULT_TOKEN": sam]).status == 0)
        cli.environment["PATRONVAULT_NOW"] = "2026-11-23T09:45:00Z"
        #expect(try cli.run(["patron", "history", "PVA1", "--purpose", "circulation"], env: ["PATRONVAULT_TOKEN": sam]).status == 70)

        let result = try cli.run(["me", "accesses", "--card", "PVA1", "--pin-stdin", "--json"], stdin: "8642")
        #expect(result.status == 0, "\(result.stderr)")
        let accesses = result.json["accesses"] as? [[String: Any]] ?? []
        let bySam = accesses.filter { $0["staff"] as? String == "sam" }
        let read = try #require(bySam.first { $0["action"] as? String == "patron.read" })
        #expect(read["time"] as? String == "2026-11-23T09:30:00Z")
        #expect(read["purpose"] as? String == "circulation")
        #expect(read["role"] as? String == "staff")
        #expect(read["permitted"] as? Bool == true)
        let refused = try #require(bySam.first { $0["action"] as? String == "history.read" })
        #expect(refused["permitted"] as? Bool == false)
        #expect(refused["time"] as? String == "2026-11-23T09:45:00Z")

        let log = try cli.run(["audit", "log", "--staff", "sam", "--json"])
        #expect(log.status == 0, "\(log.stderr)")
        let entries = log.json["entries"] as? [[String: Any]] ?? []
        #expect(entries.contains { $0["decision"] as? String == "forbid" && ($0["rules"] as? [String]) == ["history-only-for-the-patron"] })
        #expect(!log.stdout.contains("Iris") && !log.stdout.contains("PVA1"))
    }

    @Test("audit queries reject malformed dates, unknown staff and empty ranges", arguments: Backend.available)
    func badQueries(_ backend: Backend) throws {
        let (cli, _) = try Self.staffAndPatron(backend)
        defer { cli.removeHome() }
        let date = try cli.run(["audit", "log", "--since", "yesterday"])
        #expect(date.status == 65 && date.stderr.contains("--since"))
        let staff = try cli.run(["audit", "log", "--staff", "nobody"])
        #expect(staff.status == 66 && staff.stderr.contains("no staff account"))
        let range = try cli.run(["audit", "exposure", "--staff", "sam", "--since", "2026-12-01", "--until", "2026-11-01"])
        #expect(range.status == 65 && range.stderr.contains("--since"))
        let both = try cli.run(["audit", "exposure", "--staff", "sam", "--key-version", "1"])
        #expect(both.status == 65)
    }

    @Test("exposure lists the cards a staff account touched, for a privacy officer", arguments: Backend.available)
    func exposure(_ backend: Backend) throws {
        var (cli, sam) = try Self.staffAndPatron(backend)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "show", "PVA1", "--purpose", "holds"], env: ["PATRONVAULT_TOKEN": sam]).status == 0)
        let officer = try cli.run(["staff", "add", "olga", "--role", "privacy-officer", "--json"])
        cli.environment["PATRONVAULT_TOKEN"] = officer.json["token"] as? String
        let result = try cli.run(["audit", "exposure", "--staff", "sam", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect((result.json["patrons"] as? [[String: Any]])?.compactMap { $0["card"] as? String } == ["PVA1"])
    }

    /// Runs a vault with some history, an external checkpoint of it, and a tamper step; returns
    /// what `audit verify` says.
    static func verifyAfter(_ tamper: (Database) throws -> Void, withCheckpoint: Bool = false) throws -> CLI.Result {
        let (cli, sam) = try staffAndPatron()
        defer { cli.removeHome() }
        for purpose in ["circulation", "holds", "fines", "account-help"] {
            for _ in 0..<4 {
                #expect(try cli.run(["patron", "show", "PVA1", "--purpose", purpose], env: ["PATRONVAULT_TOKEN": sam]).status == 0)
            }
        }
        let checkpoint = cli.home.appendingPathComponent("outside.checkpoint").path
        #expect(try cli.run(["audit", "checkpoint", "--output", checkpoint]).status == 0)
        #expect(try cli.run(["audit", "verify", "--checkpoint", checkpoint]).status == 0)
        try cli.database("vault.db").write(tamper)
        return try cli.run(["audit", "verify"] + (withCheckpoint ? ["--checkpoint", checkpoint] : []))
    }

    @Test("an untouched trail verifies")
    func untouched() throws {
        let result = try Self.verifyAfter { _ in }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("intact"))
    }

    @Test("edited, deleted, swapped, forged and truncated entries are each caught, naming the entry")
    func tampering() throws {
        let edited = try Self.verifyAfter { db in try db.execute(sql: "UPDATE audit_entry SET purpose = 'fines' WHERE seq = 7") }
        #expect(edited.status == 74)
        #expect(edited.stderr.contains("at entry 7"), "\(edited.stderr)")

        let deleted = try Self.verifyAfter { db in try db.execute(sql: "DELETE FROM audit_entry WHERE seq = 9") }
        #expect(deleted.status == 74)
        #expect(deleted.stderr.contains("at entry 9"), "\(deleted.stderr)")

        let swapped = try Self.verifyAfter { db in
            try db.execute(sql: "UPDATE audit_entry SET seq = -1 WHERE seq = 5")
            try db.execute(sql: "UPDATE audit_entry SET seq = 5 WHERE seq = 6")
            try db.execute(sql: "UPDATE audit_entry SET seq = 6 WHERE seq = -1")
        }
        #expect(swapped.status == 74)
        #expect(swapped.stderr.contains("at entry 5"), "\(swapped.stderr)")

        let forged = try Self.verifyAfter { db in
            let last = try Int.fetchOne(db, sql: "SELECT max(seq) FROM audit_entry")!
            try db.execute(sql: """
                INSERT INTO audit_entry(seq, time, principal_kind, principal_id, principal_role, action, resource_kind, patron, purpose,
                    decision, rule_ids, policy_digest, front_end, key_version, mac)
                SELECT seq + 1, time + 1, principal_kind, principal_id, principal_role, action, resource_kind, patron, purpose,
                    decision, rule_ids, policy_digest, front_end, key_version, mac FROM audit_entry WHERE seq = ?
                """, arguments: [last])
        }
        #expect(forged.status == 74)
        #expect(forged.stderr.contains("at entry"), "\(forged.stderr)")

        let truncated = try Self.verifyAfter({ db in
            let last = try Int.fetchOne(db, sql: "SELECT max(seq) FROM audit_entry")!
            try db.execute(sql: "DELETE FROM audit_entry WHERE seq > ?", arguments: [last - 10])
            try db.execute(sql: "DELETE FROM audit_checkpoint")
        }, withCheckpoint: true)
        #expect(truncated.status == 74)
        #expect(truncated.stderr.contains("at entry"), "\(truncated.stderr)")
    }

    @Test("a replaced checkpoint signature is caught")
    func forgedSignature() throws {
        let result = try Self.verifyAfter { db in
            let signature = try Data.fetchOne(db, sql: "SELECT signature FROM audit_checkpoint ORDER BY size DESC LIMIT 1")!
            var forged = signature
            forged[forged.startIndex + 10] ^= 0xFF
            try db.execute(sql: "UPDATE audit_checkpoint SET signature = ?", arguments: [forged])
        }
        #expect(result.status == 74)
        #expect(result.stderr.contains("checkpoint"), "\(result.stderr)")
    }

    @Test("two processes appending 100 entries each in parallel, interleaved, leave one chain that verifies")
    func parallelProcesses() throws {
        let (cli, sam) = try Self.staffAndPatron()
        defer { cli.removeHome() }
        let count = { try cli.database("vault.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM audit_entry") ?? 0 } }
        let before = try count()
        let script = "i=0; while [ $i -lt 100 ]; do \"$PV\" stats >/dev/null || exit 1; i=$((i+1)); done"
        // The admin in one process, sam in the other, so the trail shows whose entry came when.
        let writers = try [nil, sam].map { token -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            var environment = cli.environment.merging(["PV": CLI.binary.path]) { _, new in new }
            if let token { environment["PATRONVAULT_TOKEN"] = token }
            process.environment = environment
            try process.run()
            return process
        }
        for writer in writers {
            writer.waitUntilExit()
            #expect(writer.terminationStatus == 0)
        }
        // Each `stats` records one decision; verify itself records one more before it reads.
        #expect(try count() == before + 200)
        // The appends really raced: the trail switches between the two processes many times.
        let order = try cli.database("vault.db").read {
            try String.fetchAll($0, sql: "SELECT principal_role FROM audit_entry WHERE seq > ? ORDER BY seq", arguments: [before])
        }
        let switches = zip(order, order.dropFirst()).filter { $0 != $1 }.count
        #expect(switches >= 10, "the two processes' entries interleaved only \(switches) times")
        let verified = try cli.run(["audit", "verify", "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.json["entries"] as? Int == before + 201)
        #expect(verified.json["intact"] as? Bool == true)
    }
}
