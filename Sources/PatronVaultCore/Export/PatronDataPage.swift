import Foundation

/// The export as a page a patron opens in any browser and prints: the same content as the JSON,
/// in plain HTML with its styles inline. No script and no external resource, so opening it
/// contacts no one and runs nothing.
struct PatronDataPage {
    let data: PatronDataExport

    init(_ data: PatronDataExport) {
        self.data = data
    }

    var html: String {
        let registration = data.registration.data
        var body = """
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
            <p class="note">Everything the library's PatronVault held about you on \(Self.escape(data.exportedAt.formatted(.iso8601))).
            The file <code>patron-data.json</code> beside this page holds the same, and <code>manifest.sig</code> lets you check,
            with the library's public export key, that nothing was changed or left out (<code>patronvault export verify</code>).</p>

            <h2>Registration</h2>
            <table>
            """
        let rows: [(String, String?)] = [
            ("Name", registration.fullName), ("Card", registration.cardBarcode), ("Email", registration.email), ("Phone", registration.phone),
            ("Address", registration.postalAddress), ("Birth date", registration.birthDate?.description), ("Home branch", registration.homeBranch),
            ("Category", registration.category), ("Card expires", registration.cardExpiry?.description),
            ("Registered", registration.registeredOn.description),
            ("Reading history", registration.history == .keep ? "kept (you chose keep)" : "not kept (returned loans are destroyed)"),
            ("PIN", registration.hasPIN ? "set (stored only as an Argon2id hash, which is not exported)" : "not set"),
        ]
        for (label, value) in rows {
            guard let value else { continue }
            body += "<tr><th scope=\"row\">\(label)</th><td>\(Self.escape(value))</td></tr>\n"
        }
        body += "</table>\n"
        body += Self.loans("Items you have out", data.openLoans, empty: "You have no items out.")
        body += Self.loans("Your reading history", data.history, empty: "No returned loans are kept.")

        body += "<h2>Sign-in lockout</h2>\n"
        if let lockout = data.signInLockout {
            let until = lockout.lockedUntil.map { "; locked until \(Self.escape($0.formatted(.iso8601)))" } ?? ""
            body += "<p>\(lockout.failedAttempts) failed sign-in attempt\(lockout.failedAttempts == 1 ? "" : "s") counted\(until).</p>\n"
        } else {
            body += "<p>No failed sign-ins are counted against your card.</p>\n"
        }

        body += "<h2>Who looked at your record, and what you did</h2>\n"
        if data.auditEntries.isEmpty {
            body += "<p>No entries.</p>\n"
        } else {
            body += "<table>\n<tr><th scope=\"col\">#</th><th scope=\"col\">When</th><th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\">Purpose</th><th scope=\"col\">Decision</th></tr>\n"
            for entry in data.auditEntries {
                let who: String
                if entry.principalKind != "patron" {
                    who = "\(entry.staffName ?? entry.principalID) (\(entry.principalRole))"
                } else if entry.action == "patron.sign-in" {
                    who = "someone with your card (the sign-in failed)"
                } else {
                    who = "you"
                }
                body += "<tr><td>\(entry.sequence)</td><td>\(Self.escape(entry.time.formatted(.iso8601)))</td><td>\(Self.escape(who))</td>"
                body += "<td>\(Self.escape(entry.action))</td><td>\(Self.escape(entry.purpose ?? ""))</td><td>\(entry.decision == "permit" ? "allowed" : "refused")</td></tr>\n"
            }
            body += "</table>\n"
        }

        body += "<h2>Records being destroyed</h2>\n"
        body += data.pendingDestruction.isEmpty
            ? "<p>None.</p>\n"
            : "<p>\(data.pendingDestruction.count) deleted record\(data.pendingDestruction.count == 1 ? "" : "s") whose keys are queued for destruction.</p>\n"
        body += "<h2>Legal orders</h2>\n<p>\(data.legalOrders.isEmpty ? "None." : "\(data.legalOrders.count)")</p>\n"

        body += """
            <h2>Completeness</h2>
            <p class="note">The vault keeps an authenticated sum over all of your records. This export lists
            \(data.recordSet.members.count) record\(data.recordSet.members.count == 1 ? "" : "s"); \(data.recordSet.count) of them make up the sum
            <code>\(data.recordSet.value)</code>, which the signed manifest carries.
            Your pseudonym in the audit trail: <code>\(Self.escape(data.pseudonym))</code>.</p>
            </main>
            </body>
            </html>

            """
        return body
    }

    private static func loans(_ heading: String, _ loans: [ExportedRecord<Loan>], empty: String) -> String {
        var out = "<h2>\(heading)</h2>\n"
        guard !loans.isEmpty else { return out + "<p>\(empty)</p>\n" }
        out += "<table>\n<tr><th scope=\"col\">Title</th><th scope=\"col\">Author</th><th scope=\"col\">Item</th><th scope=\"col\">Branch</th><th scope=\"col\">Checked out</th><th scope=\"col\">Due</th><th scope=\"col\">Returned</th></tr>\n"
        for loan in loans.map(\.data) {
            let cells = [loan.title, loan.author ?? "", loan.itemBarcode, loan.branch, loan.checkedOutAt.formatted(.iso8601), loan.dueOn.description,
                         loan.returnedAt?.formatted(.iso8601) ?? ""]
            out += "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }

    /// Text from records is escaped so a title can never become markup.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
