import Foundation
import Hummingbird
import Logging
import PatronVaultCore

/// An error answered as `application/problem+json` (RFC 9457): a type URI and a title per kind of
/// failure, the core's one-sentence detail, and on a policy denial the rules that decided it. The
/// detail is the core's message, which never carries patron data.
struct Problem: HTTPResponseError {
    let status: HTTPResponse.Status
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

    /// A request whose values are wrong in a way only the daemon checks (the core's own checks
    /// arrive as `VaultError`s).
    static func invalid(_ detail: String) -> Problem {
        Problem(status: .unprocessableContent, kind: "invalid-input", title: "The request is not valid", detail: detail)
    }

    /// The answer for a failure the core reported.
    init(_ error: VaultError) {
        let (status, title) = Self.status(of: error.kind)
        self.init(status: status, kind: Self.kebab(error.kind.rawValue), title: title, detail: error.message)
        rules = error.ruleIDs
        retryAfter = error.retryAfter
        challenge = error.kind == .authenticationFailed
    }

    /// The answer for a failure Hummingbird reported (no route, a body too large or malformed).
    init(_ error: HTTPError) {
        let title = error.status.reasonPhrase
        self.init(status: error.status, kind: Self.kebab(title), title: title, detail: error.body ?? title)
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
        case .invalidPolicy, .keyFilePermissions, .wrongMasterKey, .notInitialized, .alreadyInitialized, .clockRefused:
            (.internalServerError, "The vault is not usable")
        }
    }

    private static func kebab(_ text: String) -> String {
        var out = ""
        for character in text {
            if character.isUppercase, !out.isEmpty { out.append("-") }
            out.append(character == " " ? "-" : Character(character.lowercased()))
        }
        return out.replacingOccurrences(of: "--", with: "-")
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
            type: "https://patronvault.invalid/problems/\(kind)", title: title, status: status.code, detail: detail, rules: rules.isEmpty ? nil : rules)
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
            return try Problem(error).response(from: request, context: context)
        } catch let error as Problem {
            return try error.response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            // Errors the server itself answers with a status (a body over the limit: 413).
            let title = error.status.reasonPhrase
            return try Problem(status: error.status, kind: "http-\(error.status.code)", title: title, detail: title).response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return try Problem(status: .internalServerError, kind: "internal", title: "Internal error", detail: "the request failed inside the daemon")
                .response(from: request, context: context)
        }
    }
}
