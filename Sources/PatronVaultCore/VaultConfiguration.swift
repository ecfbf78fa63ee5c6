import Foundation
import PatronVaultCrypto

/// Settings a vault opens with; every field has a safe default so front ends pass only what the
/// user chose.
public struct VaultConfiguration: Sendable {
    public var clock: any VaultClock = SystemClock()
    /// Which front end is calling, recorded with every access.
    public var frontEnd: FrontEnd = .cli
    /// Argon2id cost for PINs; lowered only in tests.
    public var pinLimits: Argon2Limits = .interactive
    /// Argon2id cost for the vault passphrase.
    public var passphraseLimits: Argon2Limits = .moderate
    /// Wrong PINs tolerated per card before a lockout.
    public var pinFailureLimit: Int = 5
    /// How long a card stays locked after too many wrong PINs.
    public var pinLockout: TimeInterval = 15 * 60
    /// The branch recorded in anonymous statistics when a checkout names none.
    public var defaultBranch: String = "main"
    /// Loan period when a checkout names no due date.
    public var defaultLoanDays: Int = 21
    /// The audit trail signs a checkpoint every this many entries.
    public var auditCheckpointInterval: Int = 1000
    /// Argon2id derivations allowed at once; each takes `pinLimits` memory (64 MiB by default).
    public var concurrentDerivations: Int = 2
    /// Time between maintenance passes in a long-lived process.
    public var maintenanceInterval: Duration = .seconds(60)
    /// Time between verifications of the whole audit trail in a long-lived process.
    public var auditCheckInterval: Duration = .seconds(300)

    public init() {}
}

/// The front end an access came through.
public enum FrontEnd: String, Sendable {
    case cli
    case daemon
}
