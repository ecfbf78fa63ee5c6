import PatronVaultCore
import PatronVaultCrypto

/// The hidden token every form carries against cross-site request forgery: a keyed hash of the
/// cookie the form belongs to (the session, or before signing in the sign-in cookie) under a key
/// that lives only in this process. A page on another site can neither read the cookie nor
/// compute the token; a restart invalidates open forms, as it ends sessions.
struct FormToken: Sendable {
    private let key: SymmetricKey

    init() throws {
        key = try SymmetricKey.random()
    }

    func token(for binding: String) -> String {
        Hex.encode(Digest.blake2b(Array("patronvault web form\u{0}".utf8) + Array(binding.utf8), key: key))
    }

    func accepts(_ token: String?, for binding: String) -> Bool {
        guard let token else { return false }
        return ConstantTime.equals(Array(token.utf8), Array(self.token(for: binding).utf8))
    }

    /// A fresh value for the sign-in cookie a form is bound to before there is a session.
    static func randomBinding() -> String {
        Hex.encode(SecureRandom.bytes(32))
    }
}
