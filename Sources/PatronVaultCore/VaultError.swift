/// Every failure a front end can show: one sentence naming what was wrong, never a PIN, token,
/// key or patron field. The kind tells a front end how to answer (an exit code in the CLI, an
/// HTTP status in the daemon); the core names no flag, command or status of either.
public struct VaultError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is, for a front end to map to its own vocabulary.
    public enum Kind: String, Sendable, CaseIterable {
        case invalidInput
        case notFound
        case alreadyExists
        case authenticationFailed
        case lockedOut
        case permissionDenied
        case keyFilePermissions
        case wrongMasterKey
        case corruptVault
        case integrityFailure
        case notInitialized
        case alreadyInitialized
        case storageFailure
        case invalidPolicy
        case auditFailure
        /// A fixed clock was offered to a vault that runs on the real clock.
        case clockRefused
        /// The request is valid but the account's state does not allow it yet (loans still out).
        case conflict
        /// A master key rotation was interrupted; the vault opens once it is finished.
        case rotationInProgress
    }

    public let kind: Kind
    public let message: String
    /// For a policy denial, the rules that decided it (none for deny by default): a front end
    /// names them beside the sentence, as the daemon's problem documents do.
    public let ruleIDs: [String]
    /// For a lockout, how long until the card may try again: a front end's Retry-After.
    public let retryAfter: Duration?

    package init(_ kind: Kind, _ message: String, ruleIDs: [String] = [], retryAfter: Duration? = nil) {
        self.kind = kind
        self.message = message
        self.ruleIDs = ruleIDs
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    package static func invalid(_ message: String) -> VaultError { VaultError(.invalidInput, message) }
    package static func notFound(_ message: String) -> VaultError { VaultError(.notFound, message) }
    package static let integrity = VaultError(
        .integrityFailure, "a sealed record failed its integrity check: it was altered, moved or opened with the wrong key")
    package static func storage(_ message: String) -> VaultError { VaultError(.storageFailure, message) }
    /// The audit trail failed verification; the message names the first bad entry.
    public static func auditBroken(_ message: String) -> VaultError { VaultError(.integrityFailure, message) }
    /// A policy or policy test file that does not load; `location` is `file:line:column: message`.
    public static func policy(_ location: String) -> VaultError { VaultError(.invalidPolicy, "invalid policy: \(location)") }
}
