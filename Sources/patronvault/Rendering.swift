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
            ("Expires", r.cardExpiry?.description), ("History", r.history.rawValue), ("Registered", r.registeredOn.description),
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
