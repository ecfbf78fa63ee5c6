import Foundation
import Hummingbird
import Logging
import PatronVaultCore
import PatronVaultFrontEnd

/// An error answered as `application/problem+json` (RFC 9457): a type URI and a title per kind of
/// failure, the core's one-sentence detail, and on a policy denial the rules that decided it. The
/// detail is the core's message, which never carries patron data.
struct Problem: HTTPResponseError {
    let status: HTTPResponse.Status
    /// The last segment of the type URI: a core kind's name (`ProblemType`), or `http-STATUS`
    /// for what the server itself refused.
    let kind: String
    let title: String
    let detail: String
    var rules: [String] = []
    var retryAfter: Duration?
    var challenge = false

    init(status: HTTPResponse.Status, kind: String, title: String, detail: String) {
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
    }

    /// A failure of one of the core's kinds, with the status and title that kind answers with.
    init(_ kind: VaultError.Kind, detail: String) {
        let (status, title) = Self.status(of: kind)
        self.init(status: status, kind: ProblemType.name(of: kind), title: title, detail: detail)
        challenge = kind == .authenticationFailed
    }

    /// A request whose values are wrong in a way only the daemon checks (the core's own checks
    /// arrive as `VaultError`s).
    static func invalid(_ detail: String) -> Problem {
        Problem(.invalidInput, detail: detail)
    }

    /// The answer for a failure the core reported.
    init(_ error: VaultError) {
        self.init(error.kind, detail: error.message)
        rules = error.ruleIDs
        retryAfter = error.retryAfter
    }

    /// The answer for a failure the server itself reported (no route, a body too large or
    /// malformed), typed by its status.
    init(status: HTTPResponse.Status, detail: String?) {
        let title = status.reasonPhrase
        self.init(status: status, kind: "http-\(status.code)", title: title, detail: detail ?? title)
    }

    static func status(of kind: VaultError.Kind) -> (HTTPResponse.Status, String) {
        switch kind {
        case .invalidInput: (.unprocessableContent, "The request is not valid")
        case .notFound: (.notFound, "Not found")
        case .alreadyExists: (.conflict, "Already exists")
        case .conflict: (.conflict, "Not allowed in this state")
        case .authenticationFailed: (.unauthorized, "Authentication failed")
        case .lockedOut: (.tooManyRequests, "Locked out")
        case .permissionDenied: (.forbidden, "Access denied by the policy")
        case .integrityFailure, .corruptVault: (.internalServerError, "The vault failed an integrity check")
        case .auditFailure, .storageFailure: (.serviceUnavailable, "The vault could not complete the request")
        case .invalidPolicy, .keyFilePermissions, .wrongMasterKey, .notInitialized, .alreadyInitialized, .clockRefused, .rotationInProgress:
            (.internalServerError, "The vault is not usable")
        }
    }

    private struct Document: Encodable {
        let type: String
        let title: String
        let status: Int
        let detail: String
        let rules: [String]?
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let document = Document(
            type: ProblemType.base + kind, title: title, status: status.code, detail: detail, rules: rules.isEmpty ? nil : rules)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter.components.seconds) }
        if challenge { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try JSONBody<Document>.encoder.encode(document))))
    }
}

/// Turns every failure into a problem document; anything unexpected is logged by its type only
/// (never its text, which could hold a value) and answered as a plain 500.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as VaultError {
            return try Problem(error).response(from: request, context: context)
        } catch let error as HTTPError {
            return try Problem(status: error.status, detail: error.body).response(from: request, context: context)
        } catch let error as Problem {
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            // Errors the server itself answers with a status (a body over the limit: 413).
            return try Problem(status: error.status, detail: nil).response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return try Problem(status: .internalServerError, kind: "internal", title: "Internal error", detail: "the request failed inside the daemon")
                .response(from: request, context: context)
        }
    }
}
