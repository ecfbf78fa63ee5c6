import Hummingbird
import PatronVaultCore

/// Bearer tokens: staff send the token `staff add` issued, patrons the session token a sign-in
/// gave them. Each is checked on every request, so a revocation or sign-out counts at once.
enum Bearer {
    /// The token in `Authorization: Bearer TOKEN`, or 401 saying what the request needs.
    static func token(_ request: Request, needs what: String) throws -> String {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            throw Problem(.authenticationFailed, detail: "this request needs \(what)")
        }
        return String(header.dropFirst(7))
    }

    static func staff(_ request: Request, in vault: Vault) async throws -> Principal {
        try await vault.signIn.staff(token: token(request, needs: "a staff token: Authorization: Bearer TOKEN"))
    }
}
