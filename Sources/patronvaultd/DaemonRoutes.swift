import Foundation
import Hummingbird
import PatronVaultCore
import PatronVaultFrontEnd

/// The API's routes, versioned under `/v1`. Each handler authenticates, calls one core
/// operation and encodes the core's result: the gate decides and audits, as for the CLI.
struct DaemonRoutes {
    let vault: Vault

    func add(to router: Router<DaemonRequestContext>) {
        router.get("health", use: health)
        let v1 = router.group("v1")
        v1.post("patrons", use: register)
        // The card in the body keeps it out of any access log.
        v1.post("patrons/lookup", use: lookupInBody)
        v1.get("patrons/:card", use: lookup)
        v1.get("patrons/:card/history", use: history)
        v1.post("loans", use: checkout)
        v1.post("loans/return", use: returnItem)
        v1.post("loans/settle", use: settleFee)
        v1.get("statistics", use: statistics)
    }

    /// Liveness: the process answers and the vault is open.
    @Sendable func health(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Health> {
        JSONBody(value: Health(status: "ok"))
    }

    struct Health: Encodable, Sendable {
        let status: String
    }

    // MARK: Staff

    @Sendable func lookupInBody(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PatronProfile> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: CardLookup.self, context: context)
        return JSONBody(value: try await vault.desk.patronProfile(card: body.card, purpose: body.purpose, by: staff))
    }

    @Sendable func lookup(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PatronProfile> {
        let staff = try await Bearer.staff(request, in: vault)
        let card = try context.parameters.require("card")
        return JSONBody(value: try await vault.desk.patronProfile(card: card, purpose: request.uri.queryParameters["purpose"].map(String.init), by: staff))
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
            throw Problem(status: .unprocessableContent, kind: "invalid-input", title: "The request is not valid", detail: error.sentence)
        }
        try await vault.desk.registerPatron(form, pin: body.pin.map { Array($0.utf8) }, by: staff)
        return JSONBody(value: Registered(card: form.cardBarcode), status: .created)
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
