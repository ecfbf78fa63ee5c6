import Foundation
import HTTPTypes
import Hummingbird
import PatronVaultCore

/// The patron's self-service pages: server-rendered HTML that works without JavaScript, over the
/// same core calls and the same sessions as `/v1/me`. The session token travels only in an
/// `HttpOnly; Secure; SameSite=Strict` cookie; every form carries a token bound to it, and a
/// request another site started is refused before anything is read or changed.
struct PatronWebRoutes {
    /// `__Host-`: a browser takes these only from this host, over a secure channel, for the whole
    /// path, so a sibling subdomain cannot plant one (session fixation, login forgery).
    static let sessionCookie = "__Host-pv_session"
    static let signInCookie = "__Host-pv_sign_in"

    let vault: Vault
    let sessions: PatronSessions
    let forms: FormToken

    func add(to table: RouteTable) {
        table.on(.get, "", use: signInPage)
        table.on(.post, "sign-in", use: signIn)
        table.on(.post, "sign-out", use: signOut)
        table.on(.get, "account", use: account)
        table.on(.post, "account/export", use: export)
        table.on(.post, "account/history/purge", use: purge)
        table.on(.post, "account/history-preference", use: setHistory)
        table.on(.post, "account/pin", use: changePIN)
        table.on(.post, "account/erase", use: erase)
        table.on(.get, "style.css", use: stylesheet)
        table.on(.get, "privacy", use: privacy)
    }

    /// The privacy notice generated from the rules the daemon enforces; anyone may read it.
    @Sendable func privacy(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try WebPage(title: "Privacy notice", body: HTML(escapedMarkup: vault.privacyNotice().htmlBody)).response(from: request, context: context)
    }

    // MARK: Signing in and out

    @Sendable func signInPage(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        if let token = request.cookies[Self.sessionCookie]?.value, (try? await sessions.principal(token: token)) != nil {
            return WebPage.redirect(to: "/account")
        }
        let binding = request.cookies[Self.signInCookie]?.value ?? FormToken.randomBinding()
        let message: String? = switch request.uri.queryParameters["then"] {
        case "signed-out": "You are signed out."
        case "ended": "Your session ended. Sign in again to continue."
        default: nil
        }
        return try WebPage(
            title: "Sign in", body: SignInPage(message: message, formToken: forms.token(for: binding)).html,
            cookies: [Self.cookie(Self.signInCookie, binding)]
        ).response(from: request, context: context)
    }

    struct SignInForm: Decodable {
        let card: String?
        let pin: String?
        let form_token: String?
    }

    @Sendable func signIn(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        let binding = request.cookies[Self.signInCookie]?.value ?? ""
        func page(_ message: String, _ status: HTTPResponse.Status, retryAfter: Duration? = nil) throws -> Response {
            let fresh = binding.isEmpty ? FormToken.randomBinding() : binding
            var page = WebPage(
                title: "Sign in", body: SignInPage(message: message, isError: true, formToken: forms.token(for: fresh)).html, status: status,
                cookies: [Self.cookie(Self.signInCookie, fresh)])
            page.retryAfter = retryAfter
            return try page.response(from: request, context: context)
        }
        guard Self.sameOrigin(request) else { return try page(Self.crossSite, .forbidden) }
        guard let form = Self.decode(SignInForm.self, from: try await Self.formText(request, context)) else { return try page(Self.malformed, .badRequest) }
        guard !binding.isEmpty, forms.accepts(form.form_token, for: binding) else {
            return try page("The sign-in form had expired or your browser did not send its cookie. Sign in again.", .forbidden)
        }
        guard let card = form.card, !card.isEmpty, let pin = form.pin, !pin.isEmpty else {
            return try page("Enter your library card number and your PIN.", .unprocessableContent)
        }
        do {
            let opened = try await sessions.open(card: card, pin: Array(pin.utf8))
            return WebPage.redirect(to: "/account", cookies: [Self.cookie(Self.sessionCookie, opened.token), Self.expired(Self.signInCookie)])
        } catch {
            return try page(Self.sentence(error.message), Problem.status(of: error.kind).0, retryAfter: error.retryAfter)
        }
    }

    /// The one field every form has: read first, before the form's own fields, to refuse a
    /// forged form before anything else is looked at.
    struct TokenForm: Decodable {
        let form_token: String?
    }

    @Sendable func signOut(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try await signedIn(request, context) { session in
            await sessions.close(token: session.token)
            return WebPage.redirect(to: "/?then=signed-out", cookies: [Self.expired(Self.sessionCookie)])
        }
    }

    // MARK: The account

    @Sendable func account(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try await signedIn(request, context, form: false) { session in
            let message: String? = switch request.uri.queryParameters["done"] {
            case "purged": "\(Self.count(request)) loans were removed from your reading history and their keys destroyed."
            case "keep": "Your reading history is kept from now on. Only you can see it."
            case "discard": "Your reading history is no longer kept; \(Self.count(request)) loans were destroyed with their keys."
            case "pin": "Your PIN is changed. Use the new one next time you sign in."
            default: nil
            }
            return try await accountPage(session, message: message).response(from: request, context: context)
        }
    }

    /// A form, not a link: each download makes a signed export and a recorded access, which no
    /// other page should be able to set off.
    @Sendable func export(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try await signedIn(request, context) { session in
            PatronRoutes.download(try await vault.selfService.exportMyData(by: session.principal))
        }
    }

    struct PurgeForm: Decodable {
        let before: String?
    }

    @Sendable func purge(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try await signedIn(request, context) { session in
            // A form that cannot be read removes nothing (never everything).
            guard let form = session.form(PurgeForm.self) else { throw Problem.invalid("the form could not be read; nothing was removed") }
            let before = try form.before.flatMap { $0.isEmpty ? nil : try CalendarDay(parsing: $0, field: "the day to remove loans before") }
            let change = try await vault.selfService.purgeHistory(before: before, by: session.principal)
            return WebPage.redirect(to: "/account?done=purged&count=\(change.purged)#history")
        }
    }

    struct PreferenceForm: Decodable {
        let history: String?
        let confirm: String?
    }

    @Sendable func setHistory(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try await signedIn(request, context) { session in
            let form = session.form(PreferenceForm.self)
            guard let preference = form?.history.flatMap(HistoryPreference.init(rawValue:)) else {
                throw Problem.invalid("choose whether to keep your reading history")
            }
            guard preference == .keep || form?.confirm == "yes" else {
                throw Problem.invalid("tick the box to confirm that your reading history will be destroyed")
            }
            let change = try await vault.selfService.setHistory(preference, by: session.principal)
            return WebPage.redirect(to: "/account?done=\(preference.rawValue)&count=\(change.purged)#history")
        }
    }

    struct PINForm: Decodable {
        let current: String?
        let pin: String?
        let `repeat`: String?
    }

    /// Needs the current PIN (a session left open on a shared terminal must not be enough), then
    /// closes every session of the patron, this one included, and opens a fresh one with the new
    /// PIN: whoever held another session is out.
    @Sendable func changePIN(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try await signedIn(request, context) { session in
            let form = session.form(PINForm.self)
            guard let pin = form?.pin, pin == form?.repeat else { throw Problem.invalid("the two new PINs differ; type the same PIN twice") }
            let card = try await confirmPIN(form?.current, of: session)
            try await vault.selfService.changeOwnPIN(to: Array(pin.utf8), by: session.principal)
            await sessions.closeAll(of: session.principal)
            let fresh = try await sessions.open(card: card, pin: Array(pin.utf8))
            return WebPage.redirect(to: "/account?done=pin", cookies: [Self.cookie(Self.sessionCookie, fresh.token)])
        }
    }

    /// Checks the PIN typed again before an irreversible change, as a sign-in (counted toward
    /// the lockout, recorded when wrong); returns the patron's card.
    private func confirmPIN(_ typed: String?, of session: Session) async throws -> String {
        guard let typed, !typed.isEmpty else { throw Problem.invalid("type your current PIN to confirm") }
        let card = try await vault.selfService.myProfile(by: session.principal).registration.cardBarcode
        do {
            guard try await vault.signIn.patron(card: card, pin: Array(typed.utf8)) == session.principal else { throw Problem.invalid("the current PIN is wrong") }
        } catch let error as VaultError where error.kind == .authenticationFailed {
            throw Problem(.authenticationFailed, detail: "the current PIN is wrong; nothing was changed")
        }
        return card
    }

    struct ConfirmationForm: Decodable {
        let confirm: String?
        let current: String?
    }

    @Sendable func erase(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        try await signedIn(request, context) { session in
            let form = session.form(ConfirmationForm.self)
            guard form?.confirm == "yes" else {
                throw Problem.invalid("tick the box to confirm that erasing your account cannot be undone")
            }
            _ = try await confirmPIN(form?.current, of: session)
            let receipt = try await vault.selfService.eraseMe(by: session.principal)
            await sessions.closeAll(of: session.principal)
            let json = String(decoding: try JSONBody<ErasureReceipt>.encoder.encode(receipt), as: UTF8.self)
            return try WebPage(title: "Account erased", body: ErasedPage(receipt: receipt, receiptJSON: json).html, cookies: [Self.expired(Self.sessionCookie)])
                .response(from: request, context: context)
        }
    }

    @Sendable func stylesheet(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        var headers = WebPage.headers(contentType: "text/css; charset=utf-8")
        headers[.cacheControl] = "max-age=3600"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Self.css)))
    }

    static let css: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "patron", withExtension: "css"), let data = try? Data(contentsOf: url) else { return [] }
        return Array(data)
    }()

    // MARK: Sessions, forms and failures

    struct Session {
        let token: String
        let principal: Principal
        /// The form's fields as sent (`application/x-www-form-urlencoded`); empty for a GET.
        var formText = ""

        /// The form's own fields; nil when they cannot be read, which each route refuses.
        func form<Form: Decodable>(_ type: Form.Type) -> Form? {
            PatronWebRoutes.decode(type, from: formText)
        }
    }

    /// Runs `body` for the patron whose session cookie came with the request. Without a live
    /// session the browser goes back to the sign-in page; a form must also come from this site
    /// and carry the session's token. A failure the core reports is shown on the account page.
    private func signedIn(
        _ request: Request, _ context: DaemonRequestContext, form: Bool = true, _ body: (Session) async throws -> Response
    ) async throws -> Response {
        guard let token = request.cookies[Self.sessionCookie]?.value, let principal = try? await sessions.principal(token: token) else {
            return WebPage.redirect(to: "/?then=ended", cookies: [Self.expired(Self.sessionCookie)])
        }
        var session = Session(token: token, principal: principal)
        if form {
            // Refused before anything is read: the answer is a short page, not the account.
            guard Self.sameOrigin(request) else { return try Self.refusal(Self.crossSite, .forbidden, request, context) }
            guard let text = try await Self.formText(request, context), let fields = Self.decode(TokenForm.self, from: text) else {
                return try Self.refusal(Self.malformed, .badRequest, request, context)
            }
            session.formText = text
            guard forms.accepts(fields.form_token, for: token) else {
                return try Self.refusal("The form had expired. Nothing was changed; go back to your account and try again.", .forbidden, request, context)
            }
        }
        do {
            return try await body(session)
        } catch let error as VaultError where error.kind == .notFound {
            // The account itself is gone (erased at the desk): the session ends with it.
            await sessions.closeAll(of: principal)
            return WebPage.redirect(to: "/?then=ended", cookies: [Self.expired(Self.sessionCookie)])
        } catch let error as VaultError {
            return try await failure(session, Self.sentence(error.message), Problem.status(of: error.kind).0, retryAfter: error.retryAfter, request, context)
        } catch let error as Problem {
            return try await failure(session, Self.sentence(error.detail), error.status, request, context)
        }
    }

    /// A page saying a form was refused, with a way back; it shows no patron data.
    private static func refusal(_ message: String, _ status: HTTPResponse.Status, _ request: Request, _ context: DaemonRequestContext) throws -> Response {
        let body: HTML = "<h1>Nothing was changed</h1>\(WebNotice(message: message, isError: true).html)<p><a href=\"/account\">Back to your account</a></p>"
        return try WebPage(title: "Refused", body: body, status: status).response(from: request, context: context)
    }

    private func failure(
        _ session: Session, _ message: String, _ status: HTTPResponse.Status, retryAfter: Duration? = nil, _ request: Request, _ context: DaemonRequestContext
    ) async throws -> Response {
        var page = try await accountPage(session, message: message, isError: true)
        page.status = status
        page.retryAfter = retryAfter
        return try page.response(from: request, context: context)
    }

    private func accountPage(_ session: Session, message: String?, isError: Bool = false) async throws -> WebPage {
        let profile = try await vault.selfService.myProfile(by: session.principal)
        let history = try await vault.selfService.myHistory(by: session.principal)
        let accesses = try await vault.selfService.myAccesses(by: session.principal)
        let page = AccountPage(
            profile: profile, history: history, accesses: accesses, formToken: forms.token(for: session.token), message: message, isError: isError)
        return WebPage(title: "Your account", body: page.html)
    }

    /// Sentences for refused forms, the same whatever was wrong in detail: a forger learns nothing.
    static let crossSite = "The request came from another site. Nothing was changed."
    static let malformed = "The form could not be read. Nothing was changed."

    /// The body as text (a body over the limit fails as 413), or nil when it is not UTF-8.
    private static func formText(_ request: Request, _ context: DaemonRequestContext) async throws -> String? {
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        return String(validating: buffer.readableBytesView, as: UTF8.self)
    }

    /// A form body decoded, or nil: a form that cannot be read is refused, never half-used.
    static func decode<Form: Decodable>(_ type: Form.Type, from text: String?) -> Form? {
        text.flatMap { try? URLEncodedFormDecoder().decode(type, from: $0) }
    }

    /// A browser says where a request came from (`Sec-Fetch-Site`, `Origin`); a form another site
    /// submitted is refused whatever cookies came with it.
    /// The pages send `Referrer-Policy: same-origin`, so a browser names this origin on its own
    /// forms; `Origin: null` (a page that hid where it came from) is refused like another site.
    static func sameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" { return false }
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return true }
        guard origin != "null", let authority = request.head.authority?.lowercased(), let url = URL(string: origin), let host = url.host?.lowercased() else {
            return false
        }
        let named = (host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
        return named == authority
    }

    /// The core's messages are clauses ("the card barcode or PIN is wrong"); a page shows sentences.
    private static func sentence(_ message: String) -> String {
        return message.prefix(1).uppercased() + message.dropFirst() + (message.hasSuffix(".") ? "" : ".")
    }

    /// The count a redirect after a form carries for its message; only a number is ever shown.
    private static func count(_ request: Request) -> Int {
        request.uri.queryParameters["count"].flatMap { Int(String($0)) } ?? 0
    }

    /// The session and sign-in cookies: never readable by script, never sent with a request
    /// another site starts, and only over TLS (browsers treat loopback as secure).
    static func cookie(_ name: String, _ value: String) -> Cookie {
        Cookie(name: name, value: value, path: "/", secure: true, httpOnly: true, sameSite: .strict)
    }

    static func expired(_ name: String) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: true, httpOnly: true, sameSite: .strict)
    }
}
