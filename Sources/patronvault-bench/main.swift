import Foundation
import GRDB
import PatronVaultCore

/// `patronvault-bench [--patrons N] [--loans-per-patron N] [--lookups N] [--returns N]`
/// Prints each vault operation's rate beside the same operation on plain SQLite, measured in
/// this run. Build in release: `swift run -c release patronvault-bench`.
func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    guard let index = args.firstIndex(of: name), index + 1 < args.count, let parsed = Int(args[index + 1]), parsed > 0 else { return value }
    return parsed
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let elapsed = try ContinuousClock().measure(body)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func rate(_ count: Int, _ time: Double) -> String {
    let perSecond = Double(count) / time
    return perSecond >= 10_000 ? String(format: "%.0f K", perSecond / 1000) : String(format: "%.0f", perSecond)
}

func row(_ label: String, _ count: Int, vault: Double, plain: Double) {
    let ratio = (Double(count) / vault) / (Double(count) / plain)
    print("\(label.padding(toLength: 34, withPad: " ", startingAt: 0))\(rate(count, vault).leftPadded(10))/s \(rate(count, plain).leftPadded(10))/s \(String(format: "%8.2f", ratio))×")
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

let library = SyntheticLibrary(patrons: argument("--patrons", default: 20_000), loansPerPatron: argument("--loans-per-patron", default: 4))
let lookups = argument("--lookups", default: 20_000)
let returns = argument("--returns", default: 2_000)
let auditEntries = argument("--audit-entries", default: 1_000_000)
let batchSize = argument("--batch", default: 1_000)
let policyDirectory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PATRONVAULT_POLICIES"] ?? "Policies", isDirectory: true)

let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("patronvault-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: workspace) }

do {
    let vaultDirectory = workspace.appendingPathComponent("vault")
    var configuration = VaultConfiguration()
    configuration.clock = FixedClock(library.start)
    let (vault, admin) = try await Vault.initialize(
        at: vaultDirectory, masterKey: .keyFile(workspace.appendingPathComponent("master.key")), adminName: "bench",
        policies: try Vault.loadPolicies(from: policyDirectory), configuration: configuration)
    let staff = try await vault.signIn.staff(token: admin.token)
    let plain = try PlainBaseline(directory: workspace)
    let sqliteVersion = try plain.queue.read { try String.fetchOne($0, sql: "SELECT sqlite_version()") } ?? "?"

    print("PatronVault benchmark: \(library.patrons) patrons × (1 + \(library.loansPerPatron) loans) = \(library.recordCount) records")
    print("SQLite \(sqliteVersion), \(ProcessInfo.processInfo.activeProcessorCount) cores, WAL, synchronous=NORMAL, both sides in the same run")
    print("operation".padding(toLength: 34, withPad: " ", startingAt: 0) + "     vault".leftPadded(12) + "     plain".leftPadded(12) + "    ratio".leftPadded(10))

    let batches = stride(from: 0, to: library.patrons, by: batchSize).map { $0..<min(library.patrons, $0 + batchSize) }
    let vaultIngest = try await seconds {
        for range in batches {
            let batch = range.map { i in PatronImport(registration: library.registration(i), loans: (0..<library.loansPerPatron).map { library.loan(i, $0) }) }
            try await vault.desk.importPatrons(batch, by: staff)
        }
    }
    let plainIngest = try await seconds {
        for range in batches { try plain.ingest(library, patrons: range) }
    }
    row("bulk ingest (records, sealed)", library.recordCount, vault: vaultIngest, plain: plainIngest)

    var generator = SystemRandomNumberGenerator()
    let cards = (0..<lookups).map { _ in library.card(Int.random(in: 0..<library.patrons, using: &generator)) }
    let vaultLookup = try await seconds {
        for card in cards { _ = try await vault.desk.patronProfile(card: card, purpose: "circulation", by: staff) }
    }
    let plainLookup = try await seconds {
        for card in cards { _ = try plain.lookup(card: card) }
    }
    row("staff lookup by card (+open loans)", lookups, vault: vaultLookup, plain: plainLookup)

    let discarders = (0..<min(returns, library.patrons / 2)).map { library.item(patron: 2 * $0 + 1, loan: 0) }
    let vaultReturn = try await seconds {
        for item in discarders { _ = try await vault.desk.returnItem(item, by: staff) }
    }
    let plainReturn = try await seconds {
        for item in discarders { try plain.returnItem(item) }
    }
    row("return with shred (discard patron)", discarders.count, vault: vaultReturn, plain: plainReturn)
    print("(return with shred commits vault.db, deletes the key in keys.db and truncates its WAL: fsync-bound)")

    let allowAll = try await Vault.open(
        at: vaultDirectory, masterKey: .keyFile(workspace.appendingPathComponent("master.key")), policies: .permitEverything(),
        configuration: configuration)
    let allowAllStaff = try await allowAll.signIn.staff(token: admin.token)
    // Alternate the two rule sets over the same cards and keep each one's best round, so the
    // growing audit trail and the disk do not favour whichever runs last.
    var shippedBest = Double.infinity
    var allowAllBest = Double.infinity
    let round = Array(cards.prefix(max(1, lookups / 4)))
    for _ in 0..<3 {
        shippedBest = min(shippedBest, try await seconds { for card in round { _ = try await vault.desk.patronProfile(card: card, purpose: "circulation", by: staff) } })
        allowAllBest = min(allowAllBest, try await seconds { for card in round { _ = try await allowAll.desk.patronProfile(card: card, purpose: "circulation", by: allowAllStaff) } })
    }
    print("")
    print("Policy engine (shipped rules, \(vault.policies.ruleIDs.count) rules)")
    let decisions = PolicyBenchmark.run(vault.policies)
    print(String(format: "  decisions: %.1f M/s, p50 %.2f µs, p99 %.2f µs", decisions.perSecond / 1e6, decisions.p50 / 1000, decisions.p99 / 1000))
    print(String(format: "  lookup with the shipped rules %@/s vs an allow-all rule set %@/s: time ratio %.2f×",
                 rate(round.count, shippedBest), rate(round.count, allowAllBest), shippedBest / allowAllBest))

    await allowAll.close()
    print("")
    let during = try await LookupsDuringVerify.run(vault: vault, staff: staff, cards: Array(cards.prefix(2_000)))
    print("Lookups while a \(during.entries)-entry audit verify runs in the same process (verify on a reader connection)")
    print(String(format: "  verify alone %.2f s, with lookups beside it %.2f s; lookups alone %@/s, during the verify %@/s (%d done); the first two done %.1f ms after it started",
                 during.verifyAlone, during.verifyBeside, rate(during.lookupsAlone, during.lookupsAloneTime),
                 rate(during.lookupsBeside, during.lookupsBesideTime), during.lookupsBeside, during.firstTwo * 1000))
    await vault.close()

    print("")
    print("Audit trail (every lookup above appended two entries in its transaction)")
    let audit = try AuditBenchmark.run(entries: auditEntries, directory: workspace)
    print(String(format: "  append: %.0f K entries/s (10,000 per transaction)", audit.appendPerSecond / 1000))
    print(String(format: "  audit verify of a %d-entry trail: %.0f K entries/s%@", auditEntries, audit.verifyPerSecond / 1000, audit.intact ? "" : " (NOT INTACT)"))
} catch let error as VaultError {
    FileHandle.standardError.write(Data("patronvault-bench: \(error.message)\n".utf8))
    exit(1)
}
