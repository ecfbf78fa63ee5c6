import Foundation
import Testing

/// The patron's web pages: driven in Debian's Chromium (selenium, JavaScript off) through every
/// flow, and attacked with raw HTTP: forms without their token, from another origin, after the
/// session ended, with a body that is not a form, and a PIN guessed until the card locks.
@Suite("The patron's web pages", .serialized)
struct PatronWebTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// W1 (PIN 2468) keeps history, has one loan out and one returned, and was looked up at the
    /// desk; W2 (PIN 1357) has nothing out.
    static func library() throws -> CLI {
        let cli = try CLI.initialized()
        #expect(try cli.run(["patron", "register", "--card", "W1", "--name", "Wendy <b>Reader</b>", "--email", "wendy@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "W1", "--item", "I-1", "--title", "The <script>alert(1)</script> Book", "--author", "A. Author"]).status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "W1", "--item", "I-2", "--title", "Second"]).status == 0)
        #expect(try cli.run(["loan", "return", "--item", "I-2"]).status == 0)
        #expect(try cli.run(["patron", "show", "W1", "--purpose", "circulation"]).status == 0)
        #expect(try cli.run(["patron", "register", "--card", "W2", "--name", "Erin Erase", "--email", "erin@example.org", "--pin-stdin"], stdin: "1357").status == 0)
        return cli
    }

    @Test("a patron signs in, reads, downloads, purges, chooses, changes the PIN and erases, in Chromium without JavaScript")
    func browser() throws {
        let cli = try Self.library()
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        // Kept after the run: the screenshots are the test's artifact.
        let artifacts = Self.root.appendingPathComponent(".build/test-artifacts/patron-web", isDirectory: true)
        try? FileManager.default.removeItem(at: artifacts)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.root.appendingPathComponent("Tests/EndToEndTests/Browser/patron_web.py").path, daemon.base.absoluteString, artifacts.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text.suffix(6_000))")
        #expect(text.contains("all browser steps passed"), "install selenium (python3 -m pip install selenium) and chromium-driver")
        #expect(FileManager.default.fileExists(atPath: artifacts.appendingPathComponent("patron-account.png").path))

        // The downloaded export is the signed bundle `export verify` accepts.
        let verified = try cli.run(["export", "verify", artifacts.appendingPathComponent("patron-data").path])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(daemon.stop() == 0)
        #expect(try cli.run(["audit", "verify"]).status == 0)
        // The erased patron is gone; the other's PIN is the one changed on the page.
        #expect(try cli.run(["patron", "show", "W2", "--purpose", "account-help"]).status != 0)
        #expect(try cli.run(["me", "show", "--card", "W1", "--pin-stdin"], stdin: "97531").status == 0)
    }

    @Test("pages carry a strict policy and a session cookie scripts and other sites cannot use")
    func headersAndCookies() throws {
        let cli = try Self.library()
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        var browser = WebClient(daemon)
        let page = try browser.get("/")
        #expect(page.status == 200)
        #expect(page.header("content-security-policy")?.contains("default-src 'none'") == true)
        #expect(page.header("content-security-policy")?.contains("form-action 'self'") == true)
        #expect(page.header("x-frame-options") == "DENY" && page.header("cache-control") == "no-store")
        #expect(!page.body.contains("<script"))

        var client = WebClient(daemon)
        let signedIn = try client.signIn(card: "W1", pin: "2468")
        #expect(signedIn.status == 303 && signedIn.header("location") == "/account")
        let cookie = signedIn.setCookies.first { $0.hasPrefix("__Host-pv_session=") } ?? ""
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] { #expect(cookie.contains(attribute), "\(attribute)") }
        #expect(!cookie.contains("Domain="))
        let signInCookie = page.setCookies.first { $0.hasPrefix("__Host-pv_sign_in=") } ?? ""
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] { #expect(signInCookie.contains(attribute), "sign-in cookie \(attribute)") }
        #expect(page.header("referrer-policy") == "same-origin")
        let account = try client.get("/account")
        #expect(account.status == 200 && account.body.contains("Wendy &lt;b&gt;Reader&lt;/b&gt;"))
        #expect(account.body.contains("The &lt;script&gt;alert(1)&lt;/script&gt; Book") && !account.body.contains("<script>"))
        let css = try client.get("/style.css")
        #expect(css.status == 200 && css.header("content-type")?.hasPrefix("text/css") == true)
        #expect(daemon.stop() == 0)
    }

    @Test("a form without its token, from another site, or after the session ended changes nothing")
    func forgedForms() throws {
        let cli = try Self.library()
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        var client = WebClient(daemon)
        #expect(try client.signIn(card: "W1", pin: "2468").status == 303)
        let token = try client.formToken()

        let missing = try client.post("/account/history/purge", form: [:])
        #expect(missing.status == 403 && missing.body.contains("role=\"alert\""))
        let wrong = try client.post("/account/history/purge", form: ["form_token": String(repeating: "0", count: 64)])
        #expect(wrong.status == 403)
        let crossOrigin = try client.post("/account/history/purge", form: ["form_token": token], headers: ["Origin": "http://evil.example"])
        #expect(crossOrigin.status == 403 && crossOrigin.body.contains("another site"))
        let crossSite = try client.post("/account/erase", form: ["form_token": token, "confirm": "yes"], headers: ["Sec-Fetch-Site": "cross-site"])
        #expect(crossSite.status == 403)
        let notAForm = try client.post("/account/history/purge", raw: Data([0x66, 0x6f, 0x72, 0x6d, 0x5f, 0xff, 0xfe]))
        #expect(notAForm.status == 400)
        let unconfirmed = try client.post("/account/erase", form: ["form_token": token])
        #expect(unconfirmed.status == 422 && unconfirmed.body.contains("Tick the box"))
        // A token bound to another session is no token for this one.
        var other = WebClient(daemon)
        #expect(try other.signIn(card: "W2", pin: "1357").status == 303)
        #expect(try other.post("/account/erase", form: ["form_token": token, "confirm": "yes"]).status == 403)

        // Nothing above changed anything: the history is still there, both accounts exist.
        let history = try cli.run(["me", "history", "--card", "W1", "--pin-stdin", "--json"], stdin: "2468")
        #expect(history.stdout.contains("Second"))
        #expect(try cli.run(["me", "show", "--card", "W2", "--pin-stdin"], stdin: "1357").status == 0)

        // A form the browser says comes from this origin is taken; from another port, or from
        // a page that hid its origin (`null`), it is not.
        let origin = "http://\(daemon.base.host!):\(daemon.base.port!)"
        #expect(try client.post("/account/history/purge", form: ["form_token": token], headers: ["Origin": "http://\(daemon.base.host!):1"]).status == 403)
        #expect(try client.post("/account/history/purge", form: ["form_token": token], headers: ["Origin": "null"]).status == 403)
        // Erasure and a PIN change need the current PIN too; a wrong one changes nothing.
        let wrongPIN = try client.post("/account/erase", form: ["form_token": token, "confirm": "yes", "current": "0000"])
        #expect(wrongPIN.status == 401 && wrongPIN.body.contains("current PIN is wrong"))
        #expect(try client.post("/account/pin", form: ["form_token": token, "pin": "1111", "repeat": "1111"]).status == 422)

        // The real form works, and after signing out the same cookie and token do nothing.
        let purged = try client.post("/account/history/purge", form: ["form_token": token], headers: ["Origin": origin])
        #expect(purged.status == 303 && purged.header("location")?.hasPrefix("/account?done=purged&count=1") == true)
        let session = client.cookies["__Host-pv_session"]
        #expect(try client.post("/sign-out", form: ["form_token": token]).status == 303)
        // The browser would drop the cookie; an attacker who copied it sends it again.
        client.cookies["__Host-pv_session"] = session
        let after = try client.post("/account/history-preference", form: ["form_token": token, "history": "discard", "confirm": "yes"])
        #expect(after.status == 303 && after.header("location") == "/?then=ended")
        #expect(try client.get("/account").header("location") == "/?then=ended")
        #expect(try cli.run(["me", "show", "--card", "W1", "--pin-stdin", "--json"], stdin: "2468").stdout.contains("\"history\":\"keep\""))

        // Signing in needs the sign-in page's cookie and token too.
        var stranger = WebClient(daemon)
        #expect(try stranger.post("/sign-in", form: ["card": "W1", "pin": "2468"]).status == 403)
        #expect(daemon.stop() == 0)
        #expect(try cli.run(["audit", "verify"]).status == 0)
    }

    @Test("wrong PINs on the sign-in page lock the card: 429 with Retry-After, shared with the CLI")
    func lockout() throws {
        let cli = try Self.library()
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        var client = WebClient(daemon)
        var statuses: [Int] = []
        for _ in 0..<6 { statuses.append(try client.signIn(card: "W1", pin: "0000").status) }
        #expect(statuses.prefix(5).allSatisfy { $0 == 401 }, "\(statuses)")
        let locked = try client.signIn(card: "W1", pin: "2468")
        #expect(locked.status == 429 && locked.header("retry-after") != nil)
        #expect(!locked.body.contains("value=\"W1\""), "the page does not echo the card")
        #expect(try cli.run(["me", "show", "--card", "W1", "--pin-stdin"], stdin: "2468").status != 0)
        #expect(daemon.stop() == 0)
    }
}

/// A browser's part in raw HTTP through curl: it keeps the cookies the pages set, sends them
/// back, reads each form's token from the page, and never follows a redirect.
struct WebClient {
    struct Page {
        let status: Int
        let headers: [(String, String)]
        let body: String

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        var setCookies: [String] { headers.filter { $0.0.lowercased() == "set-cookie" }.map(\.1) }
    }

    let base: URL
    var cookies: [String: String] = [:]

    init(_ daemon: Daemon) {
        base = daemon.base
    }

    mutating func get(_ path: String) throws -> Page {
        try send(["-X", "GET"], path)
    }

    mutating func post(_ path: String, form: [String: String] = [:], raw: Data? = nil, headers: [String: String] = [:]) throws -> Page {
        var arguments = ["-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded"]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        if let raw {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("form-\(UUID().uuidString)")
            try raw.write(to: file)
            arguments += ["--data-binary", "@\(file.path)"]
        } else if form.isEmpty {
            arguments += ["--data-binary", ""]
        } else {
            for (name, value) in form { arguments += ["--data-urlencode", "\(name)=\(value)"] }
        }
        return try send(arguments, path)
    }

    /// The sign-in page, then its form with the card and PIN.
    mutating func signIn(card: String, pin: String) throws -> Page {
        let page = try get("/")
        return try post("/sign-in", form: ["card": card, "pin": pin, "form_token": Self.token(in: page.body)])
    }

    /// The token the account page's forms carry.
    mutating func formToken() throws -> String {
        Self.token(in: try get("/account").body)
    }

    static func token(in html: String) -> String {
        guard let start = html.range(of: "name=\"form_token\" value=\"") else { return "" }
        return String(html[start.upperBound...].prefix { $0 != "\"" })
    }

    private mutating func send(_ arguments: [String], _ path: String) throws -> Page {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        var all = ["-s", "-i", "--max-time", "30"] + arguments
        if !cookies.isEmpty { all += ["-H", "Cookie: " + cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")] }
        process.arguments = all + [URL(string: path, relativeTo: base)!.absoluteString]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first?.components(separatedBy: "\r\n") ?? []
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let page = Page(status: status, headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
        for cookie in page.setCookies {
            let pair = cookie.prefix { $0 != ";" }
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals]), value = String(pair[pair.index(after: equals)...])
            if value.isEmpty || cookie.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return page
    }
}
