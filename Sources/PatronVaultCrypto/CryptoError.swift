/// Crypto failures say only what failed, never which bytes or why in detail: an attacker probing a
/// ciphertext learns nothing beyond "authentication failed", as with swift-crypto's `CryptoKitError`.
public struct CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case authenticationFailure
        case invalidLength(expected: Int, actual: Int)
        case secureMemoryUnavailable
        case passwordHashingFailed
        case malformedInput
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// A ciphertext, wrapped key or signature did not verify: it was altered, moved or opened
    /// with the wrong key or associated data.
    public static let authenticationFailure = CryptoError(.authenticationFailure)
    /// libsodium could not allocate guarded, locked memory (for example the mlock limit was reached).
    public static let secureMemoryUnavailable = CryptoError(.secureMemoryUnavailable)
    /// Argon2id could not run, usually because the memory limit could not be allocated.
    public static let passwordHashingFailed = CryptoError(.passwordHashingFailed)
    /// The input is not in the expected encoded form.
    public static let malformedInput = CryptoError(.malformedInput)

    public static func invalidLength(expected: Int, actual: Int) -> CryptoError {
        CryptoError(.invalidLength(expected: expected, actual: actual))
    }

    public var isAuthenticationFailure: Bool { code == .authenticationFailure }

    public var description: String {
        switch code {
        case .authenticationFailure:
            return "authentication failed"
        case .invalidLength(let expected, let actual):
            return "expected \(expected) bytes of key material, got \(actual)"
        case .secureMemoryUnavailable:
            return "secure memory could not be allocated"
        case .passwordHashingFailed:
            return "password hashing failed (not enough memory for Argon2id)"
        case .malformedInput:
            return "malformed cryptographic input"
        }
    }
}
