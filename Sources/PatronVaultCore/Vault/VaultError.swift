/// Every failure a front end can show: one sentence naming what was wrong, never a PIN, token,
/// key or patron field, and a distinct exit code per kind so scripts can tell them apart.
public struct VaultError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; front ends map it to an exit code.
    public enum Kind: Int32, Sendable, CaseIterable {
        case invalidInput = 65
        case notFound = 66
        case alreadyExists = 67
        case authenticationFailed = 68
        case lockedOut = 69
        case permissionDenied = 70
        case keyFilePermissions = 71
        case wrongMasterKey = 72
        case corruptVault = 73
        case integrityFailure = 74
        case notInitialized = 75
        case alreadyInitialized = 76
        case storageFailure = 77
        case invalidPolicy = 78
        case auditFailure = 79
    }

    public let kind: Kind
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The process exit code a front end should use.
    public var exitCode: Int32 { kind.rawValue }

    public var description: String { message }

    static func invalid(_ message: String) -> VaultError { VaultError(.invalidInput, message) }
    static func notFound(_ message: String) -> VaultError { VaultError(.notFound, message) }
    static let integrity = VaultError(
        .integrityFailure, "a sealed record failed its integrity check: it was altered, moved or opened with the wrong key")
    static func storage(_ message: String) -> VaultError { VaultError(.storageFailure, message) }
    /// The audit trail failed verification; the message names the first bad entry.
    public static func auditBroken(_ message: String) -> VaultError { VaultError(.integrityFailure, message) }
    /// A policy or policy test file that does not load; `location` is `file:line:column: message`.
    public static func policy(_ location: String) -> VaultError { VaultError(.invalidPolicy, "invalid policy: \(location)") }
}
