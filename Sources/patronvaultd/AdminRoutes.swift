import Foundation
import Hummingbird
import PatronVaultAudit
import PatronVaultCore

/// Admin and privacy-officer routes: staff accounts, the audit trail, the retention schedule,
/// and what the rules in force decide.
/// The policies decide who may call them (the shipped rules: admins, and privacy officers for
/// the trail), exactly as for the CLI.
struct AdminRoutes {
    let vault: Vault

    func add(to table: RouteTable) {
        table.on(.get, "v1/staff", use: listStaff)
        table.on(.post, "v1/staff", use: addStaff)
        table.on(.delete, "v1/staff/:name", use: revokeStaff)
        table.on(.get, "v1/audit/verify", use: verifyAudit)
        table.on(.post, "v1/audit/verify", use: verifyAuditAgainst)
        table.on(.post, "v1/audit/checkpoints", use: checkpoint)
        table.on(.get, "v1/audit/log", use: auditLog)
        table.on(.get, "v1/retention", use: retentionPreview)
        table.on(.post, "v1/retention/run", use: retentionRun)
        table.on(.post, "v1/policy/explain", use: explainPolicy)
    }

    /// The request described as `policy explain` takes it: `key=value` pairs for each part.
    struct Explain: Decodable, Sendable {
        let principal: String
        let action: String
        let resource: String
        let context: String?
    }

    /// What the rules this daemon enforces decide for a described request, and why.
    @Sendable func explainPolicy(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PolicyExplanation> {
        let staff = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: Explain.self, context: context)
        return JSONBody(value: try await vault.oversight.explainPolicy(
            principal: body.principal, action: body.action, resource: body.resource, context: body.context ?? "", by: staff))
    }

    struct NewStaff: Decodable, Sendable {
        let name: String
        let role: String
        let remoteOnly: Bool?
    }

    @Sendable func addStaff(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<IssuedToken> {
        let admin = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: NewStaff.self, context: context)
        guard let role = StaffRole(rawValue: body.role) else {
            throw Problem.invalid("role must be one of: \(StaffRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return JSONBody(value: try await vault.administration.addStaff(name: body.name, role: role, remoteOnly: body.remoteOnly ?? false, by: admin), status: .created)
    }

    struct Accounts: Encodable, Sendable {
        let accounts: [StaffAccount]
    }

    @Sendable func listStaff(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Accounts> {
        JSONBody(value: Accounts(accounts: try await vault.administration.listStaff(by: Bearer.staff(request, in: vault))))
    }

    @Sendable func revokeStaff(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<StaffAccount> {
        let admin = try await Bearer.staff(request, in: vault)
        return JSONBody(value: try await vault.administration.revokeStaff(name: context.parameters.require("name"), by: admin))
    }

    /// The whole trail recomputed; 200 with `intact: false` and the first bad entry when it fails.
    @Sendable func verifyAudit(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<AuditVerification> {
        JSONBody(value: try await vault.oversight.verifyAudit(against: nil, by: Bearer.staff(request, in: vault)))
    }

    struct OutsideCheckpoint: Decodable, Sendable {
        /// A checkpoint's text as `audit checkpoint` wrote it, kept outside the vault; it catches
        /// a truncated or rewritten tail the stored checkpoints cannot.
        let checkpoint: String?
    }

    @Sendable func verifyAuditAgainst(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<AuditVerification> {
        let principal = try await Bearer.staff(request, in: vault)
        let body = try await request.decode(as: OutsideCheckpoint.self, context: context)
        return JSONBody(value: try await vault.oversight.verifyAudit(against: body.checkpoint, by: principal))
    }

    @Sendable func checkpoint(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<AuditCheckpoint> {
        JSONBody(value: try await vault.oversight.auditCheckpoint(by: Bearer.staff(request, in: vault)), status: .created)
    }

    struct Entries: Encodable, Sendable {
        let entries: [AuditEntry]
    }

    /// `since`, `until` (ISO 8601 instants or `YYYY-MM-DD`), `staff`, `action`, `limit`.
    @Sendable func auditLog(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Entries> {
        let principal = try await Bearer.staff(request, in: vault)
        let query = request.uri.queryParameters
        var filter = AuditLogFilter()
        filter.since = try query["since"].map { try Self.instant(String($0), "since") }
        filter.until = try query["until"].map { try Self.instant(String($0), "until") }
        filter.staffName = query["staff"].map(String.init)
        filter.action = query["action"].map(String.init)
        if let limit = query["limit"] {
            guard let count = Int(limit), (1...100_000).contains(count) else { throw Problem.invalid("limit is a whole number from 1 to 100000") }
            filter.limit = count
        }
        return JSONBody(value: Entries(entries: try await vault.oversight.auditLog(filter, by: principal)))
    }

    @Sendable func retentionPreview(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<RetentionReport> {
        JSONBody(value: try await vault.retention.preview(by: Bearer.staff(request, in: vault)))
    }

    struct Confirmation: Decodable, Sendable {
        let confirm: Bool?
    }

    /// Runs the schedule now, as `retention run --confirm` does; the answer comes when it ends.
    @Sendable func retentionRun(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<RetentionReport> {
        let admin = try await Bearer.staff(request, in: vault)
        guard try await request.decode(as: Confirmation.self, context: context).confirm == true else {
            throw Problem.invalid("a retention run destroys what the schedule says is due; send \"confirm\": true (GET /v1/retention is the dry run)")
        }
        return JSONBody(value: try await vault.retention.run(by: admin))
    }

    private static func instant(_ text: String, _ field: String) throws -> Date {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let day = try? CalendarDay(parsing: text, field: field) { return Date(timeIntervalSince1970: Double(day.daysSinceEpoch) * 86_400) }
        throw Problem.invalid("\(field) is not an ISO 8601 time or a day (YYYY-MM-DD)")
    }
}
