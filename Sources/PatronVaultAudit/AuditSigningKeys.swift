import PatronVaultCrypto

/// The keys whose checkpoints a verifier accepts: the current audit key, and keys retired by a
/// rotation, each only for checkpoints dated up to its retirement, so a retired key (even one
/// that leaked) cannot vouch for anything written after it was replaced.
public struct AuditSigningKeys: Sendable {
    public struct Retired: Sendable {
        public let key: VerifyingKey
        /// The last moment (microseconds since 1970, as checkpoints are dated) it signed.
        public let untilMicroseconds: Int64

        public init(key: VerifyingKey, untilMicroseconds: Int64) {
            self.key = key
            self.untilMicroseconds = untilMicroseconds
        }
    }

    public let current: VerifyingKey
    public let retired: [Retired]

    public init(current: VerifyingKey, retired: [Retired] = []) {
        self.current = current
        self.retired = retired
    }

    /// Whether the checkpoint is signed by the current key, or by a retired key before it retired.
    public func accept(_ checkpoint: AuditCheckpoint) -> Bool {
        checkpoint.isValid(for: current)
            || retired.contains { checkpoint.microseconds <= $0.untilMicroseconds && checkpoint.isValid(for: $0.key) }
    }
}
