import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

/// A narrated run of the main job on a fresh vault in a temporary folder: what a librarian, a
/// patron and a security reviewer would want to see, in one command.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the main job on a throw-away vault and narrate what the vault does.")

    @Option(name: .long, help: "The policy folder (default: $PATRONVAULT_POLICIES or ./Policies).")
    var policies: String?

    @Flag(name: .long, help: "Keep the demo vault folder instead of deleting it.")
    var keep = false

    func run() async throws {
        try await Terminal.report {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("patronvault-demo-\(UUID().uuidString.prefix(8))")
            defer { if !keep { try? FileManager.default.removeItem(at: folder) } }
            let rules = try Vault.loadPolicies(from: Environment.policyDirectory(policies))
            let vaultFolder = folder.appendingPathComponent("vault")
            // A clock the demo moves three years on, to show the retention schedule at work.
            let clock = ManualClock(Date())
            var configuration = VaultConfiguration()
            configuration.clock = clock
            let (vault, adminToken) = try await Vault.initialize(
                at: vaultFolder, masterKey: .keyFile(folder.appendingPathComponent("master.key")), adminName: "admin", policies: rules,
                configuration: configuration)
            let found = try await vault.closing { vault in
                try await narrate(vault, adminToken: adminToken, folder: vaultFolder, ruleCount: rules.ruleIDs.count, clock: clock)
                return try plaintext(in: vaultFolder) + plaintext(in: folder.appendingPathComponent("restored")) + plaintext(in: folder.appendingPathComponent("backup-before-erasure"))
            }
            step(found.isEmpty
                ? "A byte scan of every file in the vault folder, the backup and the restored copy finds no name, email, card number or title."
                : "PLAINTEXT FOUND: \(found.joined(separator: ", "))")
            if keep { step("The demo vault is kept at \(folder.path).") }
            if !found.isEmpty { throw ExitCode.failure }
        }
    }

    /// The main job, step by step, through the same rooms a front end uses.
    private func narrate(_ vault: Vault, adminToken: IssuedToken, folder: URL, ruleCount: Int, clock: ManualClock) async throws {
        let admin = try await vault.signIn.staff(token: adminToken.token)
        step("A new vault at \(folder.path); master key in a 0600 file outside it; \(ruleCount) policy rules loaded.")

        let desk = try await vault.signIn.staff(token: try await vault.administration.addStaff(name: "desk-1", role: .staff, by: admin).token)
        step("The admin adds staff account desk-1; its token is shown once and stored only as a hash.")

        let ada = PatronRegistration(cardBarcode: "D1001", fullName: "Ada Lovelace", email: "ada@example.org", history: .keep)
        let bob = PatronRegistration(cardBarcode: "D1002", fullName: "Bob Reader", email: "bob@example.org")
        try await vault.desk.registerPatron(ada, pin: Array("2468".utf8), by: desk)
        try await vault.desk.registerPatron(bob, pin: Array("1357".utf8), by: desk)
        step("desk-1 registers Ada (chose to keep her reading history) and Bob (default: history discarded).")

        for (card, item, title) in [("D1001", "B-1", "Notes on the Analytical Engine"), ("D1001", "B-2", "A Treatise on Poetry"), ("D1002", "B-3", "Living With Illness")] {
            _ = try await vault.desk.checkout(card: card, item: item, title: title, author: nil, due: nil, branch: "central", by: desk)
        }
        step("Three loans are checked out, each sealed under its own random key.")

        if let refusal = await refusal(of: { () async throws(VaultError) in _ = try await vault.desk.patronProfile(card: "D1001", purpose: nil, by: desk) }) {
            step("desk-1 looks Ada up without saying why: \(refusal)")
        }
        let profile = try await vault.desk.patronProfile(card: "D1001", purpose: "circulation", by: desk)
        let out = (profile.openLoans ?? []).map { "\($0.item ?? "?") due \($0.due?.description ?? "?")" }.joined(separator: ", ")
        step("With --purpose circulation the rules reveal only \(profile.name ?? "no name"), card \(profile.card ?? "?") (\(profile.cardStatus ?? "?")) and the items out: \(out). No email, no titles.")
        let holds = try await vault.desk.patronProfile(card: "D1001", purpose: "holds", by: desk)
        step("With --purpose holds: \(holds.name ?? "no name") and the contact she chose for notices, \(holds.contact.map { "\($0.channel.rawValue) \($0.value)" } ?? "none"); no loans.")

        _ = try await vault.desk.returnItem("B-1", by: desk)
        _ = try await vault.desk.returnItem("B-3", by: desk)
        step("B-1 comes back: kept, sealed, as Ada's history. B-3 comes back: Bob's loan record is deleted and its key shredded.")

        if let refusal = await refusal(of: { () async throws(VaultError) in _ = try await vault.desk.patronHistory(card: "D1001", purpose: "circulation", by: desk) }) {
            step("desk-1 asks for Ada's reading history: \(refusal)")
        }
        let adaPrincipal = try await vault.signIn.patron(card: "D1001", pin: Array("2468".utf8))
        let adaHistory = try await vault.selfService.myHistory(by: adaPrincipal)
        step("Ada, with her card and PIN, reads her history: \(adaHistory.map(\.title).joined(separator: "; ")).")
        let accesses = try await vault.selfService.myAccesses(by: adaPrincipal)
        step("Ada asks who looked at her record, and sees what each look showed:\n" + Rendering.accessLines(accesses).map { "       " + $0 }.joined(separator: "\n"))
        let bobHistory = try await vault.selfService.myHistory(by: try await vault.signIn.patron(card: "D1002", pin: Array("1357".utf8)))
        step("Bob reads his: \(bobHistory.isEmpty ? "nothing is kept" : "\(bobHistory.count) loans").")
        if let refusal = await refusal(of: { () async throws(VaultError) in _ = try await vault.signIn.patron(card: "D1002", pin: Array("0000".utf8)) }) {
            step("Someone tries Bob's card with a wrong PIN: \(refusal)")
        }
        let bobPrincipal = try await vault.signIn.patron(card: "D1002", pin: Array("1357".utf8))
        let failed = try await vault.selfService.myAccesses(by: bobPrincipal).filter { $0.kind == .failedSignIn }.count
        step("Bob's own access list shows \(failed) failed sign-in\(failed == 1 ? "" : "s") with his card.")

        let officer = try await vault.signIn.staff(token: try await vault.administration.addStaff(name: "po-1", role: .privacyOfficer, by: admin).token)
        let today = CalendarDay(clock.now())
        let order = try await vault.legalOrders.file(
            LegalOrderFiling(reference: "Subpoena 26-CV-0042", card: "D1001", scope: .history, from: today.adding(days: -30), to: today, expires: today.adding(days: 30)),
            by: officer)
        step("A subpoena arrives: privacy officer po-1 files legal order \(order.id) for Ada's history over the last 30 days.")
        if let refusal = await refusal(of: { () async throws(VaultError) in _ = try await vault.legalOrders.approve(id: order.id, by: officer) }) {
            step("po-1 tries to approve it too: \(refusal)")
        }
        _ = try await vault.legalOrders.approve(id: order.id, by: admin)
        let disclosure = try await vault.legalOrders.disclose(id: order.id, by: officer)
        let disclosureFolder = folder.deletingLastPathComponent().appendingPathComponent("legal-disclosure")
        try disclosure.write(to: disclosureFolder)
        _ = try LegalDisclosure.verify(directory: disclosureFolder, key: vault.exportVerifyingKey)
        step("The admin approves as the second person; po-1 discloses once: \(disclosure.content.history.count) returned loan in the window, no registration, signed; the order is now closed.")
        let underOrder = try await vault.selfService.myAccesses(by: adaPrincipal).filter { $0.legalOrder == order.id }
        step("Ada's access list shows \(underOrder.count) entries for the order's steps under \(order.id) (an order can delay this notice, never skip it).")

        let bundle = try await vault.selfService.exportMyData(by: adaPrincipal)
        let exportFolder = folder.deletingLastPathComponent().appendingPathComponent("ada-export")
        try bundle.write(to: exportFolder)
        let checked = try ExportBundleVerifier.verify(directory: exportFolder, key: vault.exportVerifyingKey)
        step("Ada exports everything the vault holds about her: \(bundle.files.map(\.name).joined(separator: ", ")) in \(exportFolder.lastPathComponent)/; checked with the public export key alone: \(checked.records) records, none left out.")

        let backup = folder.deletingLastPathComponent().appendingPathComponent("backup-before-erasure")
        _ = try await vault.backups.create(in: backup, by: admin)
        step("The admin takes a backup: records/ and keys/ as separate files, with a manifest signed by the audit key.")

        _ = try await vault.desk.returnItem("B-2", by: desk)
        let receipt = try await vault.selfService.eraseMe(by: try await vault.signIn.patron(card: "D1001", pin: Array("2468".utf8)))
        step("Ada returns B-2 and erases her account: \(receipt.recordsDestroyed) records and \(receipt.keysDestroyed ? "every key destroyed, both journals truncated" : "their rows deleted, keys queued for destruction"); signed receipt \(receipt.receiptHash.prefix(16))….")
        if let refusal = await refusal(of: { () async throws(VaultError) in _ = try await vault.desk.patronProfile(card: "D1001", purpose: "circulation", by: desk) }) {
            step("desk-1 looks Ada up again: \(refusal).")
        }

        // The key-store backup is discarded at the erasure deadline; the record backup is kept.
        try FileManager.default.removeItem(at: backup.appendingPathComponent("keys"))
        let restored = try await Vault.restore(
            backup: backup, keysFrom: folder, into: folder.deletingLastPathComponent().appendingPathComponent("restored"),
            masterKey: .keyFile(folder.deletingLastPathComponent().appendingPathComponent("master.key")), policies: vault.policies)
        step("Later, with the key-store backup discarded as the rule says, the record backup from before her erasure is restored beside today's key store: \(restored.patrons) patrons, \(restored.unrecoverablePatrons) unrecoverable. Ada's sealed rows came back; no key anywhere opens them.")

        let stats = try await vault.desk.statistics(by: desk)
        step("Anonymous statistics keep what the branch needs: \(stats.map { "\($0.itemBarcode) \($0.branch) \($0.month) ×\($0.returns)" }.joined(separator: ", ")).")

        let cleo = PatronRegistration(cardBarcode: "D1003", fullName: "Cleo Archer", email: "cleo@example.org", history: .keep)
        try await vault.desk.registerPatron(cleo, pin: Array("8642".utf8), by: desk)
        _ = try await vault.desk.checkout(card: "D1003", item: "B-4", title: "The Quiet Garden", author: nil, due: nil, branch: "central", by: desk)
        _ = try await vault.desk.returnItem("B-4", by: desk)
        step("Cleo, who keeps her history, borrows and returns B-4.")
        _ = try await vault.desk.checkout(card: "D1002", item: "B-5", title: "Debt and Recovery", author: nil, due: nil, branch: "central", by: desk)
        _ = try await vault.desk.returnItem("B-5", fee: 150, by: desk)
        let owed = try await vault.desk.patronProfile(card: "D1002", purpose: "fines", by: desk).feesOwed ?? []
        let fees = owed.map { "\($0.item ?? "?") \($0.amount.map(LoanFee.text) ?? "?"), returned \($0.returned?.description ?? "?")" }
        step("Bob returns B-5 damaged, with a fee: the loan is held although he discards history. For fines, desk-1 sees \(fees.joined(separator: "; ")), never the title.")
        let settled = try await vault.desk.settleFee(card: "D1002", item: "B-5", purpose: "fines", by: desk)
        step("Bob pays: the loan stays held until the schedule destroys it, on the first run from \(settled.destroyedAfter?.description ?? "never").")
        clock.set(clock.now().addingTimeInterval(86_400 * (3 * 365 + 2)))
        let due = try await vault.retention.preview(by: admin)
        step("Three years later the admin's dry run of Policies/retention.schedule, counts only: \(summary(due.rules, verb: "due")).")
        let run = try await vault.retention.run(by: admin)
        let cleoHistory = try await vault.selfService.myHistory(by: try await vault.signIn.patron(card: "D1003", pin: Array("8642".utf8)))
        step("With --confirm: \(summary(run.rules, verb: "removed")), \(run.keysDestroyed ? "its keys destroyed" : "its keys queued for destruction"). Cleo's history now: \(cleoHistory.isEmpty ? "empty" : "\(cleoHistory.count) loans").")
        let coarse = try await vault.desk.statistics(by: desk)
        step("The statistics, coarsened by the schedule: \(coarse.map { "\($0.itemBarcode) \($0.branch) \($0.month) ×\($0.returns)" }.joined(separator: ", ")).")

        let notice = vault.privacyNotice()
        let holdsView = notice.views.first { $0.purposes == ["holds"] }.map { "\"For holds, staff see: \(PrivacyNotice.list($0.sees)).\"" } ?? "(no holds rule)"
        step("The privacy notice patrons read (policy notice, or the daemon's /privacy) is generated from these same rules: \(notice.views.count) purpose views such as \(holdsView), \(notice.retention.count) retention periods, \(notice.rights.count) rights; policy digest \(notice.policyDigest.prefix(16))….")

        let trail = try await vault.oversight.verifyAudit(against: nil, by: admin)
        step("The admin verifies the audit trail: \(trail.isIntact ? "intact" : "BROKEN"), \(trail.entryCount) entries, each decision chained and MACed, checkpoints signed.")
    }

    private func summary(_ rules: [RetentionRuleResult], verb: String) -> String {
        rules.filter { $0.records > 0 }.map { rule in
            rule.kind == "statistics" ? "\(rule.rule): \(rule.records) monthly counts \(verb == "due" ? "due to become" : "merged into") yearly ones"
                : "\(rule.rule): \(rule.records) record\(rule.records == 1 ? "" : "s") \(verb)"
        }.joined(separator: "; ").nonEmpty ?? "nothing \(verb)"
    }

    /// The core's sentence when `operation` is refused, as the demo shows it; nil if it was allowed.
    private func refusal(of operation: () async throws(VaultError) -> Void) async -> String? {
        do throws(VaultError) {
            try await operation()
            return nil
        } catch {
            return error.message
        }
    }

    /// The patron fields the demo wrote that appear in the clear in any file under a folder (the
    /// vault, the backup, the restored copy), scanned while the vault is still open so its WAL
    /// files are on disk and scanned too.
    private func plaintext(in vaultFolder: URL) throws -> [String] {
        let needles = [
            "Ada Lovelace", "Bob Reader", "Cleo Archer", "ada@example.org", "bob@example.org", "cleo@example.org", "D1001", "D1002", "D1003",
            "Notes on the Analytical Engine", "Living With Illness", "The Quiet Garden", "Debt and Recovery",
        ]
        var found: [String] = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: vaultFolder.path) {
            guard let bytes = FileManager.default.contents(atPath: vaultFolder.appendingPathComponent(file).path) else { continue }
            for needle in needles where bytes.range(of: Data(needle.utf8)) != nil { found.append("\(needle) in \(file)") }
        }
        return found
    }

    private func step(_ text: String) {
        Terminal.line("• " + text)
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
