import Foundation
import PatronVaultCore

/// How results look: one JSON object per command with `--json`, aligned text otherwise.
enum Rendering {
    static func registration(_ r: PatronRegistration) -> [String: Any] {
        var out: [String: Any] = [
            "card": r.cardBarcode, "name": r.fullName, "email": r.email, "history": r.history.rawValue,
            "registered": r.registeredOn.description, "hasPIN": r.hasPIN,
        ]
        out["phone"] = r.phone
        out["address"] = r.postalAddress
        out["birthDate"] = r.birthDate?.description
        out["branch"] = r.homeBranch
        out["category"] = r.category
        out["expires"] = r.cardExpiry?.description
        return out
    }

    static func loan(_ l: Loan) -> [String: Any] {
        var out: [String: Any] = [
            "item": l.itemBarcode, "title": l.title, "branch": l.branch,
            "checkedOut": Terminal.time(l.checkedOutAt), "due": l.dueOn.description,
        ]
        out["author"] = l.author
        out["returned"] = l.returnedAt.map(Terminal.time)
        return out
    }

    static func profile(_ p: PatronProfile) -> [String: Any] {
        ["registration": registration(p.registration), "openLoans": p.openLoans.map(loan)]
    }

    static func staff(_ a: StaffAccount) -> [String: Any] {
        var out: [String: Any] = ["id": a.id, "name": a.name, "role": a.role.rawValue, "created": Terminal.time(a.createdAt), "active": a.isActive]
        out["revoked"] = a.revokedAt.map(Terminal.time)
        return out
    }

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
