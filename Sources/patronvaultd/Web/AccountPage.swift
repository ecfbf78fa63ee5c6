import Foundation
import PatronVaultCore

/// The signed-in patron's page: details, loans, fees, the history they chose to keep, who looked
/// at their record, and a form for each thing they may do. Every form carries the session's form
/// token; the ones that destroy something need a ticked confirmation.
struct AccountPage {
    let profile: PatronProfile
    let history: [Loan]
    let accesses: [RecordAccess]
    let formToken: String
    var message: String?
    var isError = false

    var html: HTML {
        let r = profile.registration
        return """
            <form method="post" action="/sign-out" class="inline">\(tokenField)<button type="submit">Sign out</button></form>
            <h1>Your library account</h1>
            \(WebNotice(message: message, isError: isError).html)
            <nav aria-label="On this page"><ul>
            <li><a href="#details">Your details</a></li><li><a href="#loans">On loan</a></li><li><a href="#history">Reading history</a></li>
            <li><a href="#accesses">Who looked at your record</a></li><li><a href="#data">Your data</a></li><li><a href="#erase">Erase your account</a></li><li><a href="/privacy">How the library handles your records</a></li>
            </ul></nav>
            <section aria-labelledby="details"><h2 id="details">Your details</h2>
            <dl>
            \(Self.row("Name", r.fullName))\(Self.row("Card", r.cardBarcode))\(Self.row("Email", r.email))\(Self.row("Phone", r.phone))
            \(Self.row("Address", r.postalAddress))\(Self.row("Birth date", r.birthDate?.description))\(Self.row("Home branch", r.homeBranch))
            \(Self.row("Category", r.category))\(Self.row("Card expires", r.cardExpiry?.description))\(Self.row("Registered", r.registeredOn.description))
            \(Self.row("Reading history", r.history == .keep ? "kept until you remove it" : "not kept: loans are destroyed when returned"))
            </dl>
            <p class="aside">To correct a detail, ask at the desk; every change is recorded.</p>
            </section>
            \(loans)
            \(fees)
            \(historySection)
            \(accessSection)
            <section aria-labelledby="data"><h2 id="data">Your data</h2>
            <p>One signed file (a tar archive) holding everything the library has about you: your details, loans, history, and who looked at your record. Unpack it and open <code>patron-data.html</code>, or check its signature with <code>patronvault export verify</code>.</p>
            <form method="post" action="/account/export">\(tokenField)<p><button type="submit">Download all my data</button></p></form>
            </section>
            <section aria-labelledby="pin-heading"><h2 id="pin-heading">Change your PIN</h2>
            <form method="post" action="/account/pin">\(tokenField)
            <p><label for="pin-current">Current PIN</label> <input id="pin-current" name="current" type="password" autocomplete="current-password" required maxlength="128"></p>
            <p><label for="new-pin">New PIN</label> <input id="new-pin" name="pin" type="password" autocomplete="new-password" required maxlength="128"></p>
            <p><label for="repeat-pin">New PIN again</label> <input id="repeat-pin" name="repeat" type="password" autocomplete="new-password" required maxlength="128"></p>
            <p><button type="submit">Change my PIN</button></p>
            </form></section>
            <section aria-labelledby="erase"><h2 id="erase">Erase your account</h2>
            <p>This destroys your details, loans and reading history with their keys, so no copy can be read again, backups included. The record of who looked at your account is kept without your name. You get a signed receipt. You cannot erase the account while a fee is owed or an item is on loan.</p>
            <form method="post" action="/account/erase">\(tokenField)
            <p><input id="erase-confirm" name="confirm" type="checkbox" value="yes" required> <label for="erase-confirm">I understand that erasing my account cannot be undone</label></p>
            <p><label for="erase-current">Your PIN, to confirm</label> <input id="erase-current" name="current" type="password" autocomplete="current-password" required maxlength="128"></p>
            <p><button type="submit" class="danger">Erase my account</button></p>
            </form></section>
            """
    }

    private var tokenField: HTML {
        "<input type=\"hidden\" name=\"form_token\" value=\"\(formToken)\">"
    }

    private static func row(_ label: String, _ value: String?) -> HTML {
        guard let value else { return "" }
        return "<dt>\(label)</dt><dd>\(value)</dd>"
    }

    private static func day(_ date: Date) -> String {
        CalendarDay(date).description
    }

    private var loans: HTML {
        let rows = profile.openLoans.map { loan -> HTML in
            "<tr><td>\(loan.title)</td><td>\(loan.author ?? "")</td><td>\(loan.itemBarcode)</td><td>\(Self.day(loan.checkedOutAt))</td><td>\(loan.dueOn.description)</td></tr>"
        }
        let table: HTML = rows.isEmpty
            ? "<p>Nothing is on loan.</p>"
            : "<table><caption>Items on loan</caption><thead><tr><th scope=\"col\">Title</th><th scope=\"col\">Author</th><th scope=\"col\">Item</th><th scope=\"col\">Borrowed</th><th scope=\"col\">Due</th></tr></thead><tbody>\(rows)</tbody></table>"
        return "<section aria-labelledby=\"loans\"><h2 id=\"loans\">On loan</h2>\(table)</section>"
    }

    private var fees: HTML {
        guard !profile.feesOwed.isEmpty else { return "" }
        let rows = profile.feesOwed.map { fee -> HTML in
            "<tr><td>\(fee.itemBarcode)</td><td>\(fee.dueOn.description)</td><td>\(fee.returnedOn.description)</td><td>\(LoanFee.text(fee.amount))</td></tr>"
        }
        return """
            <section aria-labelledby="fees"><h2 id="fees">Fees owed</h2>
            <table><caption>Returned items with a fee to pay at the desk</caption><thead><tr><th scope="col">Item</th><th scope="col">Due</th><th scope="col">Returned</th><th scope="col">Amount</th></tr></thead><tbody>\(rows)</tbody></table>
            </section>
            """
    }

    private var historySection: HTML {
        let keeping = profile.registration.history == .keep
        let rows = history.map { loan -> HTML in
            "<tr><td>\(loan.title)</td><td>\(loan.author ?? "")</td><td>\(loan.itemBarcode)</td><td>\(Self.day(loan.checkedOutAt))</td><td>\(loan.returnedAt.map(Self.day) ?? "")</td></tr>"
        }
        let table: HTML = rows.isEmpty
            ? "<p>Your reading history is empty.</p>"
            : "<table><caption>Loans you returned, kept because you chose to keep them</caption><thead><tr><th scope=\"col\">Title</th><th scope=\"col\">Author</th><th scope=\"col\">Item</th><th scope=\"col\">Borrowed</th><th scope=\"col\">Returned</th></tr></thead><tbody>\(rows)</tbody></table>"
        let purge: HTML = rows.isEmpty ? "" : """
            <form method="post" action="/account/history/purge">\(tokenField)
            <p><label for="purge-before">Only loans returned before (optional, YYYY-MM-DD)</label> <input id="purge-before" name="before" type="date"></p>
            <p><button type="submit">Remove from my history</button></p>
            </form>
            """
        let choice: HTML = keeping
            ? """
            <form method="post" action="/account/history-preference">\(tokenField)<input type="hidden" name="history" value="discard">
            <p>You keep your reading history. Stop keeping it, and destroy the loans kept so far:</p>
            <p><input id="discard-confirm" name="confirm" type="checkbox" value="yes" required> <label for="discard-confirm">I understand that my reading history will be destroyed and cannot be recovered</label></p>
            <p><button type="submit" class="danger">Stop keeping my history</button></p>
            </form>
            """
            : """
            <form method="post" action="/account/history-preference">\(tokenField)<input type="hidden" name="history" value="keep">
            <p>Your reading history is not kept: a loan is destroyed when you return it. Nobody but you could ever see a kept history.</p>
            <p><button type="submit">Keep my history from now on</button></p>
            </form>
            """
        return "<section aria-labelledby=\"history\"><h2 id=\"history\">Your reading history</h2>\(table)\(purge)\(choice)</section>"
    }

    private var accessSection: HTML {
        let rows = accesses.map { access -> HTML in
            let when = access.time.formatted(.iso8601)
            if access.kind == .failedSignIn {
                return "<tr><td>\(when)</td><td colspan=\"4\">A sign-in with your card failed (a wrong PIN, or the card was locked)</td><td>refused</td></tr>"
            }
            let saw = access.revealedPhrases.map { $0.isEmpty ? "none of your details" : "your " + $0.joined(separator: ", ") } ?? ""
            return "<tr><td>\(when)</td><td>\(access.staffName ?? access.staffID) (\(access.role))</td><td><code>\(access.action)</code></td><td>\(access.legalOrder.map { "under legal order \($0)" } ?? access.purpose ?? "none stated")</td><td>\(saw)</td><td>\(access.permitted ? "allowed" : "refused")</td></tr>"
        }
        let table: HTML = rows.isEmpty
            ? "<p>No staff member has looked at your record, and no sign-in with your card has failed.</p>"
            : "<table><caption>Every staff request about you, allowed or refused, and every failed sign-in</caption><thead><tr><th scope=\"col\">When (UTC)</th><th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\">Purpose</th><th scope=\"col\">What they saw</th><th scope=\"col\">Outcome</th></tr></thead><tbody>\(rows)</tbody></table>"
        return "<section aria-labelledby=\"accesses\"><h2 id=\"accesses\">Who looked at your record</h2>\(table)</section>"
    }
}
