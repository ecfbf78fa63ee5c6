import Foundation

/// The export as a page a patron opens in any browser and prints: the same content as the JSON,
/// in plain HTML with its styles inline. No script and no external resource, so opening it
/// contacts no one and runs nothing. Written straight into bytes, as the JSON is: a history of
/// ten thousand loans makes a page of several megabytes.
struct PatronDataPage {
    let data: PatronDataExport
    private var out: [UInt8] = []

    init(_ data: PatronDataExport) {
        self.data = data
    }

    var html: [UInt8] {
        var page = self
        page.out.reserveCapacity(4_096 + 400 * (data.openLoans.count + data.history.count) + 300 * data.auditEntries.count)
        page.write()
        return page.out
    }

    private mutating func write() {
        let registration = data.registration.data
        raw("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Your library record: everything the library holds about you</title>
            <style>
            body { font-family: Georgia, "Times New Roman", serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #111; background: #fff; line-height: 1.45; }
            h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #444; }
            table { border-collapse: collapse; width: 100%; margin: 0.5rem 0; } th, td { border: 1px solid #888; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
            th { background: #eee; } code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.85em; overflow-wrap: anywhere; }
            .note { color: #333; font-size: 0.95em; }
            @media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
            </style>
            </head>
            <body>
            <main>
            <h1>Your library record</h1>
            <p class="note">Everything the library's PatronVault held about you on 
            """)
        out.appendISO8601(instant: data.exportedAt)
        raw("""
            . The file <code>patron-data.json</code> beside this page holds the same, and <code>manifest.sig</code> lets you check,
            with the library's public export key, that nothing was changed or left out (<code>patronvault export verify</code>).</p>

            <h2>Registration</h2>
            <table>

            """)
        let rows: [(StaticString, String?)] = [
            ("Name", registration.fullName), ("Card", registration.cardBarcode), ("Email", registration.email), ("Phone", registration.phone),
            ("Address", registration.postalAddress), ("Birth date", registration.birthDate?.description), ("Home branch", registration.homeBranch),
            ("Category", registration.category), ("Card expires", registration.cardExpiry?.description),
            ("Hold notices by", registration.notifyBy?.rawValue),
            ("Registered", registration.registeredOn.description),
            ("Reading history", registration.history == .keep ? "kept (you chose keep)" : "not kept (returned loans are destroyed)"),
            ("PIN", registration.hasPIN ? "set (stored only as an Argon2id hash, which is not exported)" : "not set"),
        ]
        for (label, value) in rows {
            guard let value else { continue }
            raw("<tr><th scope=\"row\">")
            raw(label)
            raw("</th><td>")
            text(value)
            raw("</td></tr>\n")
        }
        raw("</table>\n")
        loans("Items you have out", data.openLoans, empty: "You have no items out.")
        if !data.heldLoans.isEmpty {
            loans("Returned items with a fee (kept while it is owed, then until the retention schedule removes them)", data.heldLoans, empty: "", fees: true)
        }
        loans("Your reading history", data.history, empty: "No returned loans are kept.")

        raw("<h2>Sign-in lockout</h2>\n<p>")
        if let lockout = data.signInLockout {
            text("\(lockout.failedAttempts) failed sign-in attempt\(lockout.failedAttempts == 1 ? "" : "s") counted")
            if let until = lockout.lockedUntil {
                raw("; locked until ")
                out.appendISO8601(instant: until)
            }
            raw(".")
        } else {
            raw("No failed sign-ins are counted against your card.")
        }
        raw("</p>\n")

        raw("<h2>Who looked at your record, and what you did</h2>\n")
        if data.auditEntries.isEmpty {
            raw("<p>No entries.</p>\n")
        } else {
            raw("<table>\n<tr><th scope=\"col\">#</th><th scope=\"col\">When</th><th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\">Purpose</th><th scope=\"col\">Decision</th></tr>\n")
            for entry in data.auditEntries {
                raw("<tr><td>")
                text(String(entry.sequence))
                raw("</td><td>")
                out.appendISO8601(instant: entry.time)
                raw("</td><td>")
                if entry.principalKind != "patron" {
                    text("\(entry.staffName ?? entry.principalID) (\(entry.principalRole))")
                } else if entry.action == "patron.sign-in" {
                    raw("someone with your card (the sign-in failed)")
                } else {
                    raw("you")
                }
                raw("</td><td>")
                text(entry.action)
                raw("</td><td>")
                text(entry.purpose ?? "")
                if let detail = entry.detail {
                    if entry.purpose != nil { raw("; ") }
                    text(detail)
                }
                raw("</td><td>")
                raw(entry.decision == "permit" ? "allowed" : "refused")
                raw("</td></tr>\n")
            }
            raw("</table>\n")
        }

        raw("<h2>Records being destroyed</h2>\n<p>")
        let pending = data.pendingDestruction.count
        text(pending == 0 ? "None." : "\(pending) deleted record\(pending == 1 ? "" : "s") whose keys are queued for destruction.")
        raw("</p>\n<h2>Legal orders</h2>\n")
        if data.legalOrders.isEmpty {
            raw("<p>None.</p>\n")
        } else {
            raw("<ul>\n")
            for order in data.legalOrders {
                raw("<li>")
                text(order)
                raw("</li>\n")
            }
            raw("</ul>\n")
        }
        raw("<h2>Completeness</h2>\n<p class=\"note\">")
        let members = data.recordSet.members.count
        text("The vault keeps an authenticated sum over all of your records. This export lists \(members) record\(members == 1 ? "" : "s"); ")
        text("\(data.recordSet.count) of them make up the sum ")
        raw("<code>")
        text(data.recordSet.value)
        raw("</code>, which the signed manifest carries. Your pseudonym in the audit trail: <code>")
        text(data.pseudonym)
        raw("</code>.</p>\n</main>\n</body>\n</html>\n")
    }

    private mutating func loans(_ heading: StaticString, _ loans: [ExportedRecord<Loan>], empty: StaticString, fees: Bool = false) {
        raw("<h2>")
        raw(heading)
        raw("</h2>\n")
        guard !loans.isEmpty else {
            raw("<p>")
            raw(empty)
            raw("</p>\n")
            return
        }
        raw("<table>\n<tr><th scope=\"col\">Title</th><th scope=\"col\">Author</th><th scope=\"col\">Item</th><th scope=\"col\">Branch</th><th scope=\"col\">Checked out</th><th scope=\"col\">Due</th><th scope=\"col\">Returned</th>")
        if fees { raw("<th scope=\"col\">Fee</th><th scope=\"col\">Settled</th>") }
        raw("</tr>\n")
        for loan in loans {
            let l = loan.data
            raw("<tr><td>")
            text(l.title)
            raw("</td><td>")
            text(l.author ?? "")
            raw("</td><td>")
            text(l.itemBarcode)
            raw("</td><td>")
            text(l.branch)
            raw("</td><td>")
            out.appendISO8601(instant: l.checkedOutAt)
            raw("</td><td>")
            out.appendISO8601(day: l.dueOn)
            raw("</td><td>")
            if let returned = l.returnedAt { out.appendISO8601(instant: returned) }
            if fees, let fee = l.fee {
                raw("</td><td>")
                text(LoanFee.text(fee.amount))
                raw("</td><td>")
                if let settled = fee.settledAt { out.appendISO8601(instant: settled) } else { raw("owed") }
            }
            raw("</td></tr>\n")
        }
        raw("</table>\n")
    }

    private mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Text from records is escaped so a title can never become markup.
    private mutating func text(_ value: String) {
        var value = value
        // Most text needs no escape: copied whole from its contiguous UTF-8.
        let copied = value.withUTF8 { utf8 in
            guard !utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return false }
            out.append(contentsOf: utf8)
            return true
        }
        guard !copied else { return }
        for byte in value.utf8 {
            switch byte {
            case 0x26: raw("&amp;")
            case 0x3C: raw("&lt;")
            case 0x3E: raw("&gt;")
            case 0x22: raw("&quot;")
            case 0x27: raw("&#39;")
            default: out.append(byte)
            }
        }
    }
}
