import Foundation
import PatronVaultCore

/// How results look as text. With `--json` the core's result types encode themselves
/// (`Terminal.json`), so the CLI and the daemon's bodies share one shape.
enum Rendering {
    static func profileText(_ p: PatronProfile) -> String {
        let r = p.registration
        var rows: [(String, String?)] = [
            ("Card", r.cardBarcode), ("Name", r.fullName), ("Email", r.email), ("Phone", r.phone), ("Address", r.postalAddress),
            ("Born", r.birthDate?.description), ("Branch", r.homeBranch), ("Category", r.category),
            ("Expires", r.cardExpiry?.description), ("Notices", (r.notifyBy ?? .email).rawValue), ("History", r.history.rawValue),
            ("Registered", r.registeredOn.description),
        ]
        rows.append(("Open loans", String(p.openLoans.count)))
        var lines = rows.compactMap { label, value in value.map { label.padding(toLength: 12, withPad: " ", startingAt: 0) + $0 } }
        lines += p.openLoans.map { "  " + loanText($0) }
        if !p.feesOwed.isEmpty {
            let total = p.feesOwed.reduce(Int64(0)) { $0 + $1.amount }
            lines.append("Fees owed".padding(toLength: 12, withPad: " ", startingAt: 0) + LoanFee.text(total))
            lines += p.feesOwed.map { "  \($0.itemBarcode)  \(LoanFee.text($0.amount))  due \($0.dueOn)  returned \($0.returnedOn)" }
        }
        return lines.joined(separator: "\n")
    }

    /// Only the fields the view holds: a line for each, none for a field the rules did not reveal.
    static func viewText(_ v: PatronView) -> String {
        let rows: [(String, String?)] = [
            ("Card", v.card), ("Status", v.cardStatus), ("Name", v.name), ("Email", v.email ?? v.emailMasked), ("Phone", v.phone ?? v.phoneLast4.map { "…" + $0 }),
            ("Address", v.address), ("Born", v.birthDate?.description ?? v.birthYear.map(String.init)), ("Branch", v.branch), ("Category", v.category),
            ("Expires", v.expires?.description), ("Notices", v.contact.map { "\($0.channel.rawValue): \($0.value)" }),
            ("History", v.history?.rawValue), ("Registered", v.registered?.description), ("PIN", v.hasPIN.map { $0 ? "set" : "not set" }),
        ]
        var lines = rows.compactMap { label, value in value.map { label.padding(toLength: 12, withPad: " ", startingAt: 0) + $0 } }
        func loanLines(_ label: String, _ loans: [PatronView.LoanView]?) {
            guard let loans else { return }
            lines.append(label.padding(toLength: 12, withPad: " ", startingAt: 0) + String(loans.count))
            lines += loans.map { loan in
                var parts = [loan.item, loan.title.map { t in loan.author.map { "\(t) / \($0)" } ?? t }, loan.branch].compactMap { $0 }
                if let out = loan.checkedOut { parts.append("out \(Terminal.time(out))") }
                if let due = loan.due { parts.append("due \(due)") }
                return "  " + parts.joined(separator: "  ")
            }
        }
        loanLines("Open loans", v.openLoans)
        loanLines("Overdue", v.overdueLoans)
        if let fees = v.feesOwed {
            let amounts = fees.compactMap(\.amount)
            lines.append("Fees owed".padding(toLength: 12, withPad: " ", startingAt: 0) + (amounts.count == fees.count ? LoanFee.text(amounts.reduce(0, +)) : String(fees.count)))
            lines += fees.map { fee in
                "  " + [fee.item, fee.amount.map(LoanFee.text), fee.due.map { "due \($0)" }, fee.returned.map { "returned \($0)" }].compactMap { $0 }.joined(separator: "  ")
            }
        }
        return lines.isEmpty ? "(the rules for this purpose reveal nothing about the patron)" : lines.joined(separator: "\n")
    }

    /// One search hit on a line: the fields the rules reveal for a search, tab-separated.
    static func matchText(_ m: PatronView) -> String {
        let fields = [m.card, m.name, m.email ?? m.emailMasked, m.birthDate?.description ?? m.birthYear.map(String.init), m.branch].compactMap { $0 }
        return fields.isEmpty ? "(a match; the rules reveal none of its fields)" : fields.joined(separator: "\t")
    }

    /// One line an access, except that the entries of one staff view (one per action, same
    /// time, person and purpose) read as one: "desk-1 (staff) saw your name and open loans for
    /// circulation".
    static func accessLines(_ accesses: [RecordAccess]) -> [String] {
        var lines: [String] = []
        var index = 0
        while index < accesses.count {
            let a = accesses[index]
            if a.kind == .failedSignIn {
                lines.append("\(Terminal.time(a.time))  a sign-in with your card failed (wrong PIN, or the card was locked)")
                index += 1
                continue
            }
            let who = "\(a.staffName ?? a.staffID) (\(a.role))"
            guard a.permitted, let first = a.revealedPhrases else {
                lines.append("\(Terminal.time(a.time))  \(who)  \(a.action)  purpose: \(a.purpose ?? "none")  \(a.permitted ? "allowed" : "refused")")
                index += 1
                continue
            }
            var seen = first
            var next = index + 1
            while next < accesses.count, let more = accesses[next].revealedPhrases, accesses[next].permitted, accesses[next].time == a.time,
                  accesses[next].staffID == a.staffID, accesses[next].purpose == a.purpose
            {
                for phrase in more where !seen.contains(phrase) { seen.append(phrase) }
                next += 1
            }
            let what = seen.isEmpty ? "looked you up but saw none of your details" : "saw your \(sentenceList(seen))"
            lines.append("\(Terminal.time(a.time))  \(who) \(what) for \(a.purpose ?? "no stated purpose")")
            index = next
        }
        return lines
    }

    /// "name, card number and open loans".
    static func sentenceList(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    static func loanText(_ l: Loan) -> String {
        var text = "\(l.itemBarcode)  \(l.title)"
        if let author = l.author { text += " / \(author)" }
        text += "  out \(Terminal.time(l.checkedOutAt))"
        if let returned = l.returnedAt {
            text += "  returned \(Terminal.time(returned))"
            if let fee = l.fee {
                text += "  fee \(LoanFee.text(fee.amount))" + (fee.settledAt.map { " settled \(Terminal.time($0))" } ?? " owed")
            }
        } else {
            text += "  due \(l.dueOn)"
        }
        return text
    }

    static func historyChangeText(_ change: HistoryChange) -> String {
        var lines = ["History: \(change.history.rawValue). Loans destroyed with their keys: \(change.purged)."]
        if change.history == .keep { lines.append("Loans returned from now on are kept until you purge them.") }
        if !change.shredsComplete { lines.append("Some keys are still being destroyed; the next vault operation finishes it.") }
        return lines.joined(separator: "\n")
    }

    static func receiptText(_ receipt: ErasureReceipt, whose: String) -> String {
        [
            "\(whose) account is erased. Erasure receipt (\(receipt.format)):",
            "  erased at:                          \(Terminal.time(receipt.erasedAt))",
            "  records destroyed with their keys:  \(receipt.recordsDestroyed) (reading history: \(receipt.historyDestroyed))",
            "  audit entries kept, naming no one:  \(receipt.auditEntriesKept) (plus the entry for this erasure)",
            "  keys and journal copies destroyed:  \(receipt.keysDestroyed ? "yes" : "not yet; the next maintenance pass finishes it")",
            "  rules in force (policy digest):     \(receipt.policyDigest)",
            "  receipt hash (BLAKE2b-256):         \(receipt.receiptHash)",
            "  signed with the export key:         \(receipt.exportKey)",
            "Keep this receipt: the hash fixes the facts above and the vault's signature covers the hash.",
            "Printed with --json and saved, it can be checked later: patronvault export verify-receipt FILE",
        ].joined(separator: "\n")
    }
}
