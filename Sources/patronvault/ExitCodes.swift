import PatronVaultCore

/// The CLI's vocabulary for failures: one exit code per kind, so scripts can tell them apart.
/// The core names kinds only; the codes are the CLI's promise (listed in README.md), kept
/// stable across releases and clear of 64, which the argument parser uses for bad usage.
extension VaultError.Kind {
    var exitCode: Int32 {
        switch self {
        case .invalidInput: 65
        case .notFound: 66
        case .alreadyExists: 67
        case .authenticationFailed: 68
        case .lockedOut: 69
        case .permissionDenied: 70
        case .keyFilePermissions: 71
        case .wrongMasterKey: 72
        case .corruptVault: 73
        case .integrityFailure: 74
        case .notInitialized: 75
        case .alreadyInitialized: 76
        case .storageFailure: 77
        case .invalidPolicy: 78
        case .auditFailure: 79
        case .clockRefused: 80
        case .conflict: 81
        case .rotationInProgress: 82
        }
    }

    /// What the CLI adds to the core's sentence: the command that gets the user unstuck, which
    /// the core does not name because it serves front ends that have no commands.
    var hint: String? {
        switch self {
        case .notInitialized: "run 'patronvault init' first"
        case .rotationInProgress: "run 'patronvault keys rotate --new-key-file PATH' (or 'keys change-passphrase') again with the same new key"
        default: nil
        }
    }
}

/// A failure the CLI finds itself (it names its own options, which the core never does) but
/// that belongs to one of the core's kinds, so it exits with that kind's code.
struct CommandFailure: Error {
    let kind: VaultError.Kind
    let message: String

    init(_ kind: VaultError.Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
