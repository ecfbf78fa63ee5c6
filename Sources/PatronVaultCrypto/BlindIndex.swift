import CSodium

/// Keyed BLAKE2b over a normalised value: equality lookups without storing the value, and
/// without the key nobody can test a guess. Fast on purpose (CipherSweet's slow Argon2 indexes
/// made rotation take hours).
public struct BlindIndexKey: Sendable {
    public let key: SymmetricKey
    /// Output length in bytes; shorter output makes collisions that hide individuals.
    public let outputByteCount: Int

    public init(key: SymmetricKey, outputByteCount: Int = 16) {
        precondition(outputByteCount >= 4 && outputByteCount <= 32)
        self.key = key
        self.outputByteCount = outputByteCount
    }

    public func index(of value: [UInt8]) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: outputByteCount)
        value.withUnsafeBytes { v in
            key.storage.withUnsafeBytes { k in
                _ = crypto_generichash(
                    &out, outputByteCount,
                    v.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(value.count),
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), SymmetricKey.byteCount)
            }
        }
        return out
    }

    public func index(of value: String) -> [UInt8] {
        index(of: Array(value.utf8))
    }
}
