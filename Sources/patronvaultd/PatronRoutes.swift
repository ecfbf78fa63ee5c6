import Foundation
import Hummingbird
import PatronVaultCore
import PatronVaultFrontEnd

/// The patron's own routes: a session from card and PIN, then their account, history, who looked
/// at their record, their export, and their choices. The session token is a bearer token of its
/// own kind: a staff token is not one, and a patron's is refused on staff routes.
struct PatronRoutes {
    let vault: Vault
    let sessions: PatronSessions

    func add(to table: RouteTable) {
        table.on(.post, "v1/sessions", use: signIn)
        table.on(.delete, "v1/sessions", use: signOut)
        table.on(.get, "v1/me", use: profile)
        table.on(.get, "v1/me/history", use: history)
        table.on(.get, "v1/me/accesses", use: accesses)
        table.on(.get, "v1/me/export", use: export)
        table.on(.post, "v1/me/history/purge", use: purge)
        table.on(.put, "v1/me/history-preference", use: setHistory)
        table.on(.put, "v1/me/pin", use: changePIN)
        table.on(.post, "v1/me/erase", use: erase)
    }

    struct Credentials: Decodable, Sendable {
        let card: String
        let pin: String
    }

    @Sendable func signIn(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PatronSessions.Opened> {
        let body = try await request.decode(as: Credentials.self, context: context)
        return JSONBody(value: try await sessions.open(card: body.card, pin: Array(body.pin.utf8)), status: .created)
    }

    @Sendable func signOut(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        let token = try Self.token(request)
        _ = try await sessions.principal(token: token)
        await sessions.close(token: token)
        return Response(status: .noContent)
    }

    @Sendable func profile(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<PatronProfile> {
        JSONBody(value: try await vault.selfService.myProfile(by: patron(request)))
    }

    @Sendable func history(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<[Loan]> {
        JSONBody(value: try await vault.selfService.myHistory(by: patron(request)))
    }

    @Sendable func accesses(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<[RecordAccess]> {
        JSONBody(value: try await vault.selfService.myAccesses(by: patron(request)))
    }

    /// The export bundle as one tar file: unpack it and run `patronvault export verify` on the folder.
    @Sendable func export(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        Self.download(try await vault.selfService.exportMyData(by: patron(request)))
    }

    /// The bundle's files in one tar, under `patron-data/`, as the API and the web page send it.
    static func download(_ bundle: ExportBundle) -> Response {
        tarDownload(folder: "patron-data", files: bundle.files.map { ($0.name, $0.bytes) })
    }

    /// Files in one tar under `folder/`, sent as `folder.tar`, never cached: how the daemon hands
    /// over a signed bundle (an export, a legal disclosure).
    static func tarDownload(folder: String, files: [(name: String, bytes: [UInt8])]) -> Response {
        var archive = TarArchive()
        for file in files { archive.add(name: "\(folder)/\(file.name)", contents: file.bytes) }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-tar", .contentDisposition: "attachment; filename=\"\(folder).tar\"", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: archive.finished)))
    }

    struct Purge: Decodable, Sendable {
        /// Only loans returned before this day (`YYYY-MM-DD`); all of them when absent.
        let before: String?
    }

    @Sendable func purge(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<HistoryChange> {
        let principal = try await patron(request)
        let body = try await request.decode(as: Purge.self, context: context)
        let before = try body.before.map { try CalendarDay(parsing: $0, field: "before") }
        return JSONBody(value: try await vault.selfService.purgeHistory(before: before, by: principal))
    }

    struct Preference: Decodable, Sendable {
        let history: String
        /// Discard destroys all history kept so far: it must be confirmed, as the CLI's `--yes`.
        let confirm: Bool?
    }

    @Sendable func setHistory(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<HistoryChange> {
        let principal = try await patron(request)
        let body = try await request.decode(as: Preference.self, context: context)
        guard let preference = HistoryPreference(rawValue: body.history) else { throw Problem.invalid("history is keep or discard") }
        guard preference == .keep || body.confirm == true else {
            throw Problem.invalid("discard destroys every loan in your reading history at once and cannot be undone; send \"confirm\": true")
        }
        return JSONBody(value: try await vault.selfService.setHistory(preference, by: principal))
    }

    struct NewPIN: Decodable, Sendable {
        let pin: String
    }

    @Sendable func changePIN(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<Done> {
        let principal = try await patron(request)
        let body = try await request.decode(as: NewPIN.self, context: context)
        try await vault.selfService.changeOwnPIN(to: Array(body.pin.utf8), by: principal)
        return JSONBody(value: Done())
    }

    struct Confirmation: Decodable, Sendable {
        let confirm: Bool?
    }

    /// Erases the account and closes every session of the patron; the receipt is the answer.
    @Sendable func erase(_ request: Request, context: DaemonRequestContext) async throws -> JSONBody<ErasureReceipt> {
        let principal = try await patron(request)
        let body = try await request.decode(as: Confirmation.self, context: context)
        guard body.confirm == true else {
            throw Problem.invalid("erasing your account destroys everything the library holds about you and cannot be undone; send \"confirm\": true")
        }
        let receipt = try await vault.selfService.eraseMe(by: principal)
        await sessions.closeAll(of: principal)
        return JSONBody(value: receipt)
    }

    private func patron(_ request: Request) async throws -> Principal {
        try await sessions.principal(token: Self.token(request))
    }

    private static func token(_ request: Request) throws -> String {
        try Bearer.token(request, needs: "a patron session: sign in at POST /v1/sessions, then send Authorization: Bearer TOKEN")
    }
}
