import Foundation
import GRDB
import Testing

/// Purpose-based minimization end to end: each shipped purpose shows exactly the fields its rule
/// reveals, in the JSON and in the text, through the CLI and the daemon alike; the trail records
/// which fields (never their values) and the patron reads it back; a rule changed to reveal more
/// fails the policy tests that promised less.
@Suite("Purpose-based minimization")
struct MinimizationTests {
    static let email = "mina.field@example.org"
    static let phone = "+1 555 0199 4821"
    static let address = "17 Quiet Lane, Springfield"
    static let birthDate = "1971-04-09"
    static let openTitle = "Confidential Remedies"
    static let overdueTitle = "Overdue Secrets"
    static let feeTitle = "Damaged Diaries"

    /// The keys each purpose's view has, and the keys of each loan and fee in it.
    static let expected: [String: (view: Set<String>, loans: Set<String>?, overdue: Set<String>?, fees: Set<String>?)] = [
        "circulation": (["card", "cardStatus", "name", "expires", "openLoans"], ["item", "due"], nil, nil),
        "fines": (["card", "name", "overdueLoans", "feesOwed"], nil, ["item", "due"], ["item", "due", "returned", "amount"]),
        "holds": (["card", "name", "contact"], nil, nil, nil),
        "account-help": (
            ["card", "cardStatus", "name", "expires", "email", "phone", "address", "birthDate", "branch", "category", "contact", "history", "registered", "hasPIN"],
            nil, nil, nil
        ),
        "patron-request": (
            [
                "card", "cardStatus", "name", "expires", "email", "phone", "address", "birthDate", "branch", "category", "contact", "history",
                "registered", "hasPIN", "openLoans", "feesOwed",
            ],
            ["item", "due", "title", "author", "branch", "checkedOut"], nil, ["item", "due", "returned", "amount"]
        ),
    ]

    /// M1 has every registration field, chose notices by phone, has one loan due later, one
    /// overdue, and a fee owed on a returned loan. The clock stands at 2026-11-22.
    static func scenario(_ backend: Backend = .sqlite) throws -> CLI {
        var cli = try CLI.initialized(now: "2026-10-01T10:00:00Z", backend: backend)
        func ok(_ arguments: [String], stdin: String? = nil) throws {
            let result = try cli.run(arguments, stdin: stdin)
            guard result.status == 0 else { throw CLIFailure(message: "\(arguments.joined(separator: " ")): \(result.stderr)") }
        }
        try ok([
            "patron", "register", "--card", "M1", "--name", "Mina Field", "--email", email, "--phone", phone, "--address", address,
            "--birth-date", birthDate, "--branch", "north", "--category", "adult", "--expires", "2028-01-31", "--notify", "phone", "--pin-stdin",
        ], stdin: "4821")
        try ok(["loan", "checkout", "--card", "M1", "--item", "OV-1", "--title", overdueTitle, "--due", "2026-10-20"])
        try ok(["loan", "checkout", "--card", "M1", "--item", "FE-1", "--title", feeTitle])
        try ok(["loan", "return", "--item", "FE-1", "--fee", "4.20"])
        cli.environment["PATRONVAULT_NOW"] = "2026-11-22T10:00:00Z"
        try ok(["loan", "checkout", "--card", "M1", "--item", "OP-1", "--title", openTitle, "--author", "A. Nonymous"])
        return cli
    }

    /// The JSON with sorted keys, to compare two answers byte for byte.
    static func canonical(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func itemKeys(_ array: Any?) -> Set<String>? {
        guard let items = array as? [[String: Any]] else { return nil }
        return items.reduce(into: Set<String>()) { $0.formUnion($1.keys) }
    }

    @Test("each shipped purpose shows exactly the fields its rule reveals, in the JSON and the text, and nothing else", arguments: Backend.available)
    func viewsPerPurpose(_ backend: Backend) throws {
        let cli = try Self.scenario(backend)
        defer { cli.removeHome() }
        for (purpose, want) in Self.expected {
            let shown = try cli.run(["patron", "show", "M1", "--purpose", purpose, "--json"])
            #expect(shown.status == 0, "\(purpose): \(shown.stderr)")
            let view = shown.json
            #expect(Set(view.keys) == want.view, "\(purpose): \(view.keys.sorted())")
            #expect(Self.itemKeys(view["openLoans"]) == want.loans, "\(purpose) open loans")
            #expect(Self.itemKeys(view["overdueLoans"]) == want.overdue, "\(purpose) overdue loans")
            #expect(Self.itemKeys(view["feesOwed"]) == want.fees, "\(purpose) fees")

            let text = try cli.run(["patron", "show", "M1", "--purpose", purpose])
            #expect(text.status == 0)
            let secrets: [(key: String, value: String)] = [
                ("email", Self.email), ("phone", Self.phone), ("address", Self.address), ("birthDate", Self.birthDate),
            ]
            for (key, value) in secrets {
                let revealed = want.view.contains(key) || (key == "phone" && want.view.contains("contact"))
                #expect(text.stdout.contains(value) == revealed, "\(purpose): \(key) in the text")
                #expect(shown.stdout.contains(value) == revealed, "\(purpose): \(key) in the JSON")
            }
            // Titles only where the patron asked at the desk; never the history of the fee loan.
            #expect(text.stdout.contains(Self.openTitle) == (purpose == "patron-request"), "\(purpose): open title")
            #expect(!text.stdout.contains(Self.feeTitle) && !shown.stdout.contains(Self.feeTitle), "\(purpose): fee title")
            #expect(!text.stdout.contains(Self.overdueTitle) || purpose == "patron-request", "\(purpose): overdue title")
        }

        let circulation = try cli.run(["patron", "show", "M1", "--purpose", "circulation", "--json"]).json
        #expect((circulation["openLoans"] as? [[String: Any]])?.compactMap { $0["item"] as? String }.sorted() == ["OP-1", "OV-1"])
        #expect(circulation["cardStatus"] as? String == "active")
        let fines = try cli.run(["patron", "show", "M1", "--purpose", "fines", "--json"]).json
        #expect((fines["overdueLoans"] as? [[String: Any]])?.map { $0["item"] as? String } == ["OV-1"])
        #expect((fines["feesOwed"] as? [[String: Any]])?.first?["amount"] as? String == "4.20")
        let holds = try cli.run(["patron", "show", "M1", "--purpose", "holds", "--json"]).json
        #expect(holds["contact"] as? [String: String] == ["channel": "phone", "value": Self.phone])

        // Choosing a channel is no oracle for the contacts on file: it is accepted either way,
        // and a channel without its contact shows the email.
        #expect(try cli.run(["patron", "register", "--card", "M2", "--name", "No Phone", "--email", "m2@example.org", "--notify", "phone"]).status == 65)
        #expect(try cli.run(["patron", "register", "--card", "M2", "--name", "No Phone", "--email", "m2@example.org"]).status == 0)
        let update = try cli.run(["patron", "update", "M2", "--notify", "post"])
        #expect(update.status == 0, "\(update.stderr)")
        let fallback = try cli.run(["patron", "show", "M2", "--purpose", "holds", "--json"]).json
        #expect(fallback["contact"] as? [String: String] == ["channel": "email", "value": "m2@example.org"])

        // A search shows enough to pick the right patron: card, name, a masked email.
        let found = try cli.run(["patron", "find", "--name", "mina field", "--purpose", "holds", "--json"])
        let match = try #require((found.json["matches"] as? [[String: Any]])?.first)
        #expect(Set(match.keys) == ["card", "name", "emailMasked"])
        #expect(match["emailMasked"] as? String == "m***@example.org")
        #expect(!found.stdout.contains(Self.email))
        let foundText = try cli.run(["patron", "find", "--email", Self.email, "--purpose", "circulation"])
        #expect(foundText.stdout == "M1\tMina Field\tm***@example.org\n")
    }

    @Test("the trail records the field names each view revealed, never a value, and the patron reads who saw what", arguments: Backend.available)
    func auditAndAccesses(_ backend: Backend) throws {
        var cli = try Self.scenario(backend)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "show", "M1", "--purpose", "circulation"]).status == 0)
        #expect(try cli.run(["patron", "show", "M1", "--purpose", "holds"]).status == 0)

        let details = try cli.rows("SELECT detail FROM audit_entry WHERE action IN ('patron.read', 'loan.read-open', 'loan.read-held') ORDER BY seq")
        #expect(details.contains("revealed name, card, card-status, expiry"))
        #expect(details.contains("revealed open-loans.item, open-loans.due"))
        #expect(details.contains("revealed nothing"))
        #expect(details.contains("revealed name, card, contact"))
        let trail = try cli.rows("SELECT coalesce(detail, '') FROM audit_entry").joined()
        for value in [Self.email, Self.phone, "Mina", Self.openTitle] { #expect(!trail.contains(value)) }

        cli.environment["PATRONVAULT_PIN"] = "4821"
        let accesses = try cli.run(["me", "accesses", "--card", "M1", "--json"])
        #expect(accesses.status == 0, "\(accesses.stderr)")
        let entries = try #require(accesses.json["accesses"] as? [[String: Any]])
        let reads = entries.filter { $0["action"] as? String == "patron.read" }
        #expect(reads.compactMap { $0["revealed"] as? [String] } == [["name", "card", "card-status", "expiry"], ["name", "card", "contact"]])
        let text = try cli.run(["me", "accesses", "--card", "M1"]).stdout
        #expect(text.contains("admin (admin) saw your name, card number, card status, card expiry and open loans for circulation"), "\(text)")
        #expect(text.contains("admin (admin) saw your name, card number and contact for notices for holds"), "\(text)")
    }

    @Test("--fields narrows a view to what the patron asked to see, never past the rules, and the trail records the narrowed set", arguments: Backend.available)
    func narrowedView(_ backend: Backend) throws {
        let cli = try Self.scenario(backend)
        defer { cli.removeHome() }
        let asked = try cli.run(["patron", "show", "M1", "--purpose", "patron-request", "--fields", "name,email,open-loans.title", "--json"])
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect(Set(asked.json.keys) == ["name", "email", "openLoans"])
        #expect(Self.itemKeys(asked.json["openLoans"]) == ["title"])
        #expect(!asked.stdout.contains(Self.phone) && !asked.stdout.contains(Self.address))
        // Asking for more than the purpose reveals shows no more.
        let beyond = try cli.run(["patron", "show", "M1", "--purpose", "circulation", "--fields", "name,email", "--json"])
        #expect(Set(beyond.json.keys) == ["name"])
        let unknown = try cli.run(["patron", "show", "M1", "--purpose", "circulation", "--fields", "name,shoe-size"])
        #expect(unknown.status == 65 && unknown.stderr.contains("unknown field shoe-size") && unknown.stderr.split(separator: "\n").count == 1)
        let details = try cli.rows("SELECT detail FROM audit_entry WHERE action IN ('patron.read', 'loan.read-open') AND detail IS NOT NULL ORDER BY seq")
        #expect(details.contains("revealed name, email") && details.contains("revealed open-loans.title"), "\(details)")

        let daemon = try Daemon(cli)
        let token = try #require(cli.environment["PATRONVAULT_TOKEN"])
        let body = try daemon.request("POST", "/v1/patrons/lookup", token: token, json: ["card": "M1", "purpose": "patron-request", "fields": ["name", "email", "open-loans.title"]])
        #expect(try Self.canonical(body.json) == Self.canonical(asked.json))
        let byPath = try daemon.request("GET", "/v1/patrons/M1?purpose=patron-request&fields=name,email,open-loans.title", token: token)
        #expect(try Self.canonical(byPath.json) == Self.canonical(asked.json))
        #expect(try daemon.request("POST", "/v1/patrons/lookup", token: token, json: ["card": "M1", "purpose": "holds", "fields": ["shoe-size"]]).status == 422)
        #expect(daemon.stop() == 0)
    }

    @Test("adding email to the circulation rule fails the policy case that promised less, and the view follows the rule")
    func mutationFailsACase() throws {
        var cli = try Self.scenario()
        defer { cli.removeHome() }
        let copy = cli.home.appendingPathComponent("policies")
        try FileManager.default.copyItem(at: CLI.policies, to: copy)
        let file = copy.appendingPathComponent("staff-lookups.policy")
        let rules = try String(contentsOf: file, encoding: .utf8)
        let shipped = "  reveals: name, card, card-status, expiry, open-loans.item, open-loans.due\n"
        #expect(rules.contains(shipped))
        try rules.replacingOccurrences(of: shipped, with: "  reveals: name, card, card-status, expiry, email, open-loans.item, open-loans.due\n")
            .write(to: file, atomically: true, encoding: .utf8)
        cli.environment["PATRONVAULT_POLICIES"] = copy.path

        #expect(try cli.run(["policy", "check"]).status == 0)
        let tested = try cli.run(["policy", "test"])
        #expect(tested.status != 0)
        #expect(tested.stdout.contains("FAIL  staff-lookups.cases:3: circulation sees the name, card, its status and expiry, and no contact detail"), "\(tested.stdout)")
        #expect(tested.stdout.contains("revealing name, card, card-status, expiry, email"))
        let shown = try cli.run(["patron", "show", "M1", "--purpose", "circulation", "--json"])
        #expect(shown.json["email"] as? String == Self.email)
    }

    @Test("a reveal the schema does not declare, on a forbid, or beyond the rule's actions is refused with file, line and column")
    func badReveals() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        func check(_ file: String, _ from: String, _ to: String) throws -> CLI.Result {
            let copy = cli.home.appendingPathComponent("policies-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: CLI.policies, to: copy)
            let path = copy.appendingPathComponent(file)
            let text = try String(contentsOf: path, encoding: .utf8)
            #expect(text.contains(from), "\(from)")
            try text.replacingOccurrences(of: from, with: to).write(to: path, atomically: true, encoding: .utf8)
            return try cli.run(["policy", "check", "--policies", copy.path])
        }
        let unknown = try check("staff-lookups.policy", "reveals: name, card, contact", "reveals: name, card, shoe-size")
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("staff-lookups.policy:") && unknown.stderr.contains("unknown field shoe-size"), "\(unknown.stderr)")
        #expect(unknown.stderr.split(separator: "\n").count == 1)

        let beyond = try check("staff-lookups.policy", "reveals: name, card, email.masked", "reveals: name, card, email.masked, open-loans.title")
        #expect(beyond.status != 0 && beyond.stderr.contains("cannot reveal open-loans.title"), "\(beyond.stderr)")

        let onForbid = try check("staff-lookups.policy", "  when: not has context.purpose\n", "  when: not has context.purpose\n  reveals: name\n")
        #expect(onForbid.status != 0 && onForbid.stderr.contains("a forbid shows nothing"), "\(onForbid.stderr)")

        let unshowable = try check("schema.pvschema", "reveals patron.find: name,", "reveals patron.find: shoe-size, name,")
        #expect(unshowable.status != 0 && unshowable.stderr.contains("declares the field shoe-size, which the vault cannot show"), "\(unshowable.stderr)")

        let explain = try cli.run([
            "policy", "explain", "--principal", "role=staff,id=s1", "--action", "loan.read-open", "--resource", "kind=loan,patron=p1,state=open",
            "--context", "purpose=fines", "--json",
        ])
        #expect(explain.json["reveals"] as? [String] == ["overdue-loans.item", "overdue-loans.due"])
        let explainText = try cli.run([
            "policy", "explain", "--principal", "role=staff,id=s1", "--action", "patron.read", "--resource", "kind=registration,patron=p1",
            "--context", "purpose=holds",
        ])
        #expect(explainText.stdout.contains("reveals: name, card, contact"))
    }

    @Test("the daemon's lookup and search answer with the same views as the CLI", arguments: Backend.available)
    func daemonViews(_ backend: Backend) throws {
        let cli = try Self.scenario(backend)
        defer { cli.removeHome() }
        let token = try #require(cli.environment["PATRONVAULT_TOKEN"])
        let daemon = try Daemon(cli)
        for purpose in Self.expected.keys.sorted() {
            let direct = try cli.run(["patron", "show", "M1", "--purpose", purpose, "--json"])
            let body = try daemon.request("POST", "/v1/patrons/lookup", token: token, json: ["card": "M1", "purpose": purpose])
            #expect(body.status == 200)
            #expect(try Self.canonical(body.json) == Self.canonical(direct.json), "\(purpose)")
            let byPath = try daemon.request("GET", "/v1/patrons/M1?purpose=\(purpose)", token: token)
            #expect(try Self.canonical(byPath.json) == Self.canonical(direct.json), "\(purpose)")
            #expect(Set(body.json.keys) == Self.expected[purpose]!.view)
        }
        let found = try daemon.request("POST", "/v1/patrons/find", token: token, json: ["email": Self.email, "purpose": "fines"])
        #expect((found.json["matches"] as? [[String: Any]])?.map { Set($0.keys) } == [["card", "name", "emailMasked"]])
        #expect(daemon.stop() == 0)
    }
}
