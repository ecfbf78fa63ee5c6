import Foundation
import GRDB
import PatronVaultCore

/// What one benchmark run measures, from the command line.
struct BenchmarkSettings: Sendable {
    let library: SyntheticLibrary
    let lookups: Int
    let returns: Int
    let auditEntries: Int
    let batchSize: Int
    let policyDirectory: URL

    /// The whole run, on the cooperative pool rather than the main actor.
    nonisolated func run(in workspace: URL) async throws {
        let vaultDirectory = workspace.appendingPathComponent("vault")
        var configuration = VaultConfiguration()
        configuration.clock = FixedClock(library.start)
        let (vault, admin) = try await Vault.initialize(
            at: vaultDirectory, masterKey: .keyFile(workspace.appendingPathComponent("master.key")), adminName: "bench",
            policies: try Vault.loadPolicies(from: policyDirectory), configuration: configuration)
        let staff = try await vault.signIn.staff(token: admin.token)
        let plain = try PlainBaseline(directory: workspace)
        let sqliteVersion = try await plain.queue.read { try String.fetchOne($0, sql: "SELECT sqlite_version()") } ?? "?"

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

        let lent = (0..<min(returns, library.patrons)).map { (card: library.card($0), item: "NEW-\($0)") }
        let vaultCheckout = try await seconds {
            for loan in lent {
                _ = try await vault.desk.checkout(card: loan.card, item: loan.item, title: "A New Title", author: nil, due: nil, branch: nil, by: staff)
            }
        }
        let plainCheckout = try await seconds {
            for loan in lent { try plain.checkout(card: loan.card, item: loan.item, title: "A New Title") }
        }
        row("checkout (sealed, key first)", lent.count, vault: vaultCheckout, plain: plainCheckout)

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
        let signIns = try await SignInTimings.run(vault: vault, staff: staff)
        print("")
        print("Failed sign-ins, median wall time in this process (shipped Argon2id cost): a guesser should learn nothing from them")
        print(String(format: "  wrong PIN on a known card %.1f ms, unknown card %.1f ms, card with no PIN %.1f ms, locked card %.1f ms",
                     signIns.knownCard, signIns.unknownCard, signIns.noPIN, signIns.locked))
        await vault.close()

        print("")
        print("Audit trail (every lookup above appended two entries in its transaction)")
        let audit = try AuditBenchmark.run(entries: auditEntries, directory: workspace)
        print(String(format: "  append: %.0f K entries/s (10,000 per transaction)", audit.appendPerSecond / 1000))
        print(String(format: "  audit verify of a %d-entry trail: %.0f K entries/s%@", auditEntries, audit.verifyPerSecond / 1000, audit.intact ? "" : " (NOT INTACT)"))
    }
}
