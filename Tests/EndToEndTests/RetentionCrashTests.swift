import Foundation
import GRDB
import Testing

/// A confirmed retention run killed with SIGKILL at random moments: the vault opens and
/// verifies after each kill, and a final run ends in the same state as a run never killed.
@Suite("Retention runs killed part way")
struct RetentionCrashTests {
    /// 600 patrons keeping history, each with 12 loans returned in March 2019 (due) and one in November 2019
    /// (kept); 250 accounts expired in 2020 and untouched since (erased). Imported in 2019.
    static func baseVault() throws -> CLI {
        var cli = try CLI.initialized(now: "2019-12-01T10:00:00Z")
        var lines: [String] = []
        for i in 0..<600 {
            var loans = (0..<12).map { j in
                #"{"item":"RC\#(i)-\#(j)","title":"Old \#(j)","checkedOut":"2019-03-01T10:00:00Z","due":"2019-03-22","returned":"2019-03-2\#(j % 9)T10:00:00Z"}"#
            }
            loans.append(#"{"item":"RC\#(i)-new","title":"New","checkedOut":"2019-11-01T10:00:00Z","due":"2019-11-22","returned":"2019-11-20T10:00:00Z"}"#)
            lines.append(#"{"card":"RK\#(i)","name":"Keeper \#(i)","email":"rk\#(i)@example.org","history":"keep","expires":"2030-01-01","loans":[\#(loans.joined(separator: ","))]}"#)
        }
        for i in 0..<250 {
            lines.append(#"{"card":"RX\#(i)","name":"Expired \#(i)","email":"rx\#(i)@example.org","expires":"2020-01-01"}"#)
        }
        let file = cli.home.appendingPathComponent("base.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let imported = try cli.run(["patron", "import", file.path])
        guard imported.status == 0 else { throw CLIFailure(message: "import failed: \(imported.stderr)") }
        // The run is on 2022-11-01: history returned by 2019-11-01 is due (the March loans, not
        // the one returned 2019-11-20); accounts expired and unused since 2020-11-01 are.
        cli.environment["PATRONVAULT_NOW"] = "2022-11-01T10:00:00Z"
        return cli
    }

    /// A copy of the base vault's folder in a new home, same token and clock.
    static func copy(of base: CLI, name: String) throws -> CLI {
        var copy = try CLI(now: "2022-11-01T10:00:00Z")
        copy.environment = base.environment
        try FileManager.default.removeItem(at: copy.home)
        try FileManager.default.createDirectory(at: copy.home, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: base.vault, to: copy.vault)
        copy.environment["PATRONVAULT_HOME"] = copy.vault.path
        return copy
    }

    /// What an end state is: the records, patrons and keys left, and nothing half-done.
    static func state(_ cli: CLI) throws -> [String] {
        let vault = try cli.database("vault.db")
        defer { try? vault.close() }
        let keys = try cli.database("keys.db")
        defer { try? keys.close() }
        let records = try vault.read { try Row.fetchAll($0, sql: "SELECT hex(patron) || hex(id) || version FROM record ORDER BY 1").map { $0[0] as String } }
        let patrons = try vault.read { try Row.fetchAll($0, sql: "SELECT hex(pseudonym) FROM patron ORDER BY 1").map { "p" + ($0[0] as String) } }
        let recordKeys = try keys.read { try Row.fetchAll($0, sql: "SELECT hex(pseudonym) || hex(record_id) || version FROM record_key ORDER BY 1").map { "k" + ($0[0] as String) } }
        let patronKeys = try keys.read { try Row.fetchAll($0, sql: "SELECT hex(pseudonym) FROM patron_key ORDER BY 1").map { "pk" + ($0[0] as String) } }
        let leftovers = try vault.read { db in
            ["pending \(try Int.fetchOne(db, sql: "SELECT count(*) FROM pending_shred") ?? -1)",
             "progress \(try Int.fetchOne(db, sql: "SELECT count(*) FROM retention_progress") ?? -1)"]
        }
        return records + patrons + recordKeys + patronKeys + leftovers
    }

    @Test("killed at 20 random moments, the vault opens and verifies each time, and a last run ends where an unkilled run does")
    func killedRuns() throws {
        let base = try Self.baseVault()
        defer { base.removeHome() }

        let reference = try Self.copy(of: base, name: "reference")
        defer { reference.removeHome() }
        let started = Date()
        let clean = try reference.run(["retention", "run", "--confirm", "--json"])
        let duration = Date().timeIntervalSince(started)
        #expect(clean.status == 0, "\(clean.stderr)")
        let rules = Dictionary(uniqueKeysWithValues: ((clean.json["rules"] as? [[String: Any]]) ?? []).map { ($0["rule"] as? String ?? "", $0) })
        #expect(rules["kept-history"]?["records"] as? Int == 600 * 12)
        #expect(rules["expired-accounts"]?["patrons"] as? Int == 250)
        let expected = try Self.state(reference)
        #expect(expected.contains("pending 0") && expected.contains("progress 0"))

        var generator = SystemRandomNumberGenerator()
        var killedMidway = 0
        var continued = 0
        for round in 0..<20 {
            let cli = try Self.copy(of: base, name: "round\(round)")
            defer { cli.removeHome() }
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = ["retention", "run", "--confirm"]
            process.environment = cli.environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...max(0.1, duration), using: &generator))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedMidway += 1
            }
            process.waitUntilExit()

            let verify = try cli.run(["audit", "verify"])
            #expect(verify.status == 0, "round \(round): \(verify.stderr)")
            #expect(try ImportCrashTests.consistency(cli).keylessRecords == 0, "round \(round)")
            let finish = try cli.run(["retention", "run", "--confirm"])
            #expect(finish.status == 0, "round \(round): \(finish.stderr)")
            if finish.stdout.contains("Continued the run started") { continued += 1 }
            // The maintenance pass on the next open finishes shreds a kill left queued.
            #expect(try cli.run(["staff", "list"]).status == 0)
            #expect(try Self.state(cli) == expected, "round \(round)")
            #expect(try cli.run(["audit", "verify"]).status == 0)
        }
        #expect(killedMidway >= 10, "only \(killedMidway) of 20 kills landed while the run was going")
        #expect(continued >= 5, "only \(continued) last runs continued a killed one")
        print("retention kills: \(killedMidway) of 20 landed mid-run, \(continued) last runs continued one (an unkilled run took \(String(format: "%.2f", duration)) s)")
    }
}
