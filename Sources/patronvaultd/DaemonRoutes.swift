import Foundation
import Hummingbird
import PatronVaultCore
import PatronVaultFrontEnd

/// The API's routes, versioned under `/v1`. Each handler authenticates, calls one core
/// operation and encodes the core's result: the gate decides and audits, as for the CLI.
struct DaemonRoutes {
    let vault: Vault

    func add(to table: RouteTable) {
        table.on(.get, "health", use: health)
        table.on(.get, "v1/privacy-notice", use: privacyNotice)
        table.on(.post, "v1/patrons", use: register)
        // The card in the body keeps it out of any access log.
        table.on(.post, "v1/patrons/lookup", use: lookupInBody)
        table.on(.get, "v1/patrons/:card", use: lookup)
        table.on(.get, "v1/patrons/:card/history", use: history)
        table.on(.patch, "v1/patrons/:card", use: update)
        table.on(.post, "v1/patrons/pin-reset", use: resetPIN)
        table.on(.post, "v1/patrons/find", use: find)
        table.on(.post, "v1/loans", use: checkout)
        table.on(.post, "v1/loans/return", use: returnItem)
        table.on(.post, "v1/loans/settle", use: settleFee)
        table.on(.get, "v1/statistics", use: statistics)
        table.on(.post, "v1/patrons/erase", use: erasePatron)
        table.on(.post, "v1/patrons/sealed-export", use: sealedExport)
    }

    struct Erasure: Decodable, Sendable {
        let card: String
        /// Erasure cannot be undone: it must be confirmed, as the CLI's `--yes`.
        let confirm: Bool?
    }

    /// Erases a patron's account at their request (admins, by the shipped rules); the receipt is
    /// for the patron.
    @Sendable func erasePatron(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<ErasureReceipt> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: Erasure.self, context: context)
        guard body.confirm == true else {
            throw Problem.invalid("erasing an account destroys everything the library holds about the patron and cannot be undone; send \"confirm\": true")
        }
        return JSONBody(value: try await vault.desk.erasePatron(card: body.card, by: staff))
    }

    struct SealedExportRequest: Decodable, Sendable {
        let card: String
        /// The PIN the patron types at the desk; the export is sealed under it.
        let pin: String
        let purpose: String?
    }

    /// The patron's export sealed under the PIN they typed: the desk gets a file it cannot open.
    @Sendable func sealedExport(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: SealedExportRequest.self, context: context)
        let sealed = try await vault.desk.sealedExport(card: body.card, pin: Array(body.pin.utf8), purpose: body.purpose, by: staff)
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: sealed)))
    }

    /// Liveness, and the audit trail's last verification (at start, then every few minutes):
    /// 503 once it failed, so monitoring notices a broken or rewritten trail.
    @Sendable func health(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Health> {
        let audit = vault.auditWatch.status
        let broken = audit.state == .broken
        return JSONBody(value: Health(status: broken ? "audit-broken" : "ok", audit: audit), status: broken ? .serviceUnavailable : .ok)
    }

    struct Health: Encodable, Sendable {
        let status: String
        let audit: AuditWatch.Status
    }

    /// The privacy notice as JSON, for anyone: it says what the rules are, nothing about anyone.
    @Sendable func privacyNotice(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PrivacyNotice> {
        JSONBody(value: vault.privacyNotice())
    }

    // MARK: Staff

    @Sendable func lookupInBody(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PatronView> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: CardLookup.self, context: context)
        return JSONBody(value: try await vault.desk.patronProfile(card: body.card, purpose: body.purpose, fields: body.fields, by: staff))
    }

    @Sendable func lookup(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PatronView> {
        let staff = try await Bearer.staff(request, in: vault)
        let card = try context.parameters.require("card")
        let fields = request.uri.queryParameters["fields"].map { $0.split(separator: ",").map(String.init) }
        return JSONBody(value: try await vault.desk.patronProfile(
            card: card, purpose: request.uri.queryParameters["purpose"].map(String.init), fields: fields, by: staff))
    }

    /// Refused by the shipped rules (403 naming the rule): only the patron reads their history.
    @Sendable func history(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<[Loan]> {
        let staff = try await Bearer.staff(request, in: vault)
        let card = try context.parameters.require("card")
        return JSONBody(value: try await vault.desk.patronHistory(card: card, purpose: request.uri.queryParameters["purpose"].map(String.init), by: staff))
    }

    @Sendable func register(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Registered> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: RegistrationRequest.self, context: context)
        let form: PatronRegistration
        do {
            form = try body.document.registration()
        } catch {
            throw Problem.invalid(error.sentence)
        }
        try await vault.desk.registerPatron(form, pin: body.pin.map { Array($0.utf8) }, by: staff)
        return JSONBody(value: Registered(card: form.cardBarcode), status: .created)
    }

    /// Fields to change; days are `YYYY-MM-DD`. Nothing is returned: an update is not a lookup.
    struct Update: Decodable, Sendable {
        let name: String?
        let email: String?
        let phone: String?
        let address: String?
        let birthDate: String?
        let branch: String?
        let category: String?
        let expires: String?
        let notify: String?
    }

    @Sendable func update(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Done> {
        let staff = try await Bearer.staff(request, in: vault)
        let card = try context.parameters.require("card")
        let body = try await request.decode(as: Update.self, context: context)
        var update = PatronUpdate()
        update.fullName = body.name
        update.email = body.email
        update.phone = body.phone
        update.postalAddress = body.address
        update.birthDate = try body.birthDate.map { try CalendarDay(parsing: $0, field: "birth date") }
        update.homeBranch = body.branch
        update.category = body.category
        update.cardExpiry = try body.expires.map { try CalendarDay(parsing: $0, field: "card expiry") }
        if let notify = body.notify {
            guard let channel = NotificationChannel(rawValue: notify) else { throw Problem.invalid("notify must be email, phone or post") }
            update.notifyBy = channel
        }
        try await vault.desk.updatePatron(card: card, with: update, by: staff)
        return JSONBody(value: Done())
    }

    struct PINReset: Decodable, Sendable {
        let card: String
        let pin: String
        let purpose: String?
    }

    /// A new PIN set at the desk (account help only, by the shipped rules), shown to the patron.
    @Sendable func resetPIN(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Done> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: PINReset.self, context: context)
        try await vault.desk.resetPIN(card: body.card, pin: Array(body.pin.utf8), purpose: body.purpose, by: staff)
        return JSONBody(value: Done())
    }

    struct Search: Decodable, Sendable {
        let email: String?
        let name: String?
        let purpose: String?
    }

    struct Matches: Encodable, Sendable {
        let matches: [PatronView]
    }

    /// By exact email or by name, through blind indexes; in a body so neither reaches a log.
    @Sendable func find(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Matches> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: Search.self, context: context)
        return JSONBody(value: Matches(matches: try await vault.desk.findPatrons(email: body.email, name: body.name, purpose: body.purpose, by: staff)))
    }

    struct Registered: Encodable, Sendable {
        let card: String
    }

    @Sendable func checkout(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<CheckedOut> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: CheckoutRequest.self, context: context)
        let due = try body.due.map { try CalendarDay(parsing: $0, field: "due date") }
        let loan = try await vault.desk.checkout(
            card: body.card, item: body.item, title: body.title, author: body.author, due: due, branch: body.branch, by: staff)
        return JSONBody(value: CheckedOut(item: loan.itemBarcode, due: loan.dueOn), status: .created)
    }

    @Sendable func returnItem(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<LoanReturn> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: ReturnRequest.self, context: context)
        let fee = try body.fee.map { try LoanFee.amount(parsing: $0) }
        return JSONBody(value: try await vault.desk.returnItem(body.item, fee: fee, by: staff))
    }

    @Sendable func settleFee(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<FeeSettlement> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: SettleRequest.self, context: context)
        return JSONBody(value: try await vault.desk.settleFee(card: body.card, item: body.item, purpose: body.purpose, by: staff))
    }

    @Sendable func statistics(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<[CirculationStatistic]> {
        let staff = try await Bearer.staff(request, in: vault)
        return JSONBody(value: try await vault.desk.statistics(by: staff))
    }
}
