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
        return lines.joined(separator: "\n")
    }

    static func loanText(_ l: Loan) -> String {
        var text = "\(l.itemBarcode)  \(l.title)"
        if let author = l.author { text += " / \(author)" }
        text += "  out \(Terminal.time(l.checkedOutAt))"
        if let returned = l.returnedAt {
            text += "  returned \(Terminal.time(returned))"
        } else {
            text += "  due \(l.dueOn)"
        }
        return text
    }
}
