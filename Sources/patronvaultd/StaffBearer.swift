import Hummingbird
import PatronVaultCore

/// Staff authenticate with `Authorization: Bearer TOKEN`, the token `staff add` issued. It is
/// checked on every request, so a revocation takes effect on the next one.
enum StaffBearer {
    static func principal(_ request: Request, in vault: Vault) async throws -> Principal {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            var problem = Problem(
                status: .unauthorized, kind: "authentication-failed", title: "Authentication failed",
                detail: "this request needs a staff token: Authorization: Bearer TOKEN")
            problem.challenge = true
            throw problem
        }
        return try await vault.signIn.staff(token: String(header.dropFirst(7)))
    }
}
