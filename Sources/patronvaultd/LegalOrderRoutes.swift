import Foundation
import Hummingbird
import PatronVaultCore
import PatronVaultFrontEnd

/// The legal-order workflow for privacy officers and admins, as `patronvault legal-order` runs
/// it: file, approve (a second person), disclose (a tar of the signed disclosure), list. The
/// policies and the vault's dual-control check decide, exactly as for the CLI.
struct LegalOrderRoutes {
    let vault: Vault

    func add(to table: RouteTable) {
        table.on(.get, "v1/legal-orders", use: list)
        table.on(.post, "v1/legal-orders", use: file)
        table.on(.post, "v1/legal-orders/:id/approve", use: approve)
        table.on(.post, "v1/legal-orders/:id/disclosure", use: disclose)
    }

    @Sendable func file(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<LegalOrder> {
        let officer = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: LegalOrderFilingBody.self, context: context)
        guard let scope = LegalOrder.Scope(rawValue: body.scope) else {
            throw Problem.invalid("scope must be one of: \(LegalOrder.Scope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let filing = LegalOrderFiling(
            reference: body.reference, card: body.card, scope: scope, from: try Self.day(body.from, "from"), to: try Self.day(body.to, "to"),
            expires: try Self.day(body.expires, "expires"), delayNoticeUntil: try body.delayNoticeUntil.map { try Self.day($0, "delayNoticeUntil") })
        return JSONBody(value: try await vault.legalOrders.file(filing, by: officer), status: .created)
    }

    @Sendable func approve(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<LegalOrder> {
        let staff = try await Bearer.staff(request, in: vault)
        return JSONBody(value: try await vault.legalOrders.approve(id: context.parameters.require("id"), by: staff))
    }

    /// The disclosure's three files in one tar, under `disclosure/`; the order is closed by it.
    @Sendable func disclose(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        let officer = try await Bearer.staff(request, in: vault)
        let disclosure = try await vault.legalOrders.disclose(id: context.parameters.require("id"), by: officer)
        return PatronRoutes.tarDownload(folder: "disclosure", files: disclosure.files)
    }

    struct Orders: Encodable, Sendable {
        let orders: [ListedLegalOrder]
    }

    @Sendable func list(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Orders> {
        let staff = try await Bearer.staff(request, in: vault)
        let listed = try await vault.legalOrders.list(by: staff)
        return JSONBody(value: Orders(orders: listed))
    }

    private static func day(_ text: String, _ field: String) throws -> CalendarDay {
        guard let day = try? CalendarDay(parsing: text, field: field) else { throw Problem.invalid("\(field) is not a day (YYYY-MM-DD)") }
        return day
    }
}
