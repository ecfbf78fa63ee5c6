import CSodium

/// A 256-bit key for XChaCha20-Poly1305, BLAKE2b or the KDF. Equality is constant-time and the
/// bytes never leave guarded memory except when deliberately wrapped under another key.
public struct SymmetricKey: Sendable, Equatable {
    public static let byteCount = 32

    let storage: SecureBytes

    /// A fresh random key; per-patron and per-record keys must be random so they can be shredded.
    public static func random() throws(CryptoError) -> SymmetricKey {
        SymmetricKey(storage: try SecureBytes(randomCount: byteCount))
    }

    /// Imports raw key bytes (from a key file); the caller must wipe its copy.
    public init(bytes: some Collection<UInt8>) throws(CryptoError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidLength(expected: Self.byteCount, actual: bytes.count)
        }
        storage = try SecureBytes(copying: bytes)
    }

    /// A zeroed key slot to be filled by `unwrap(_:into:)` or `randomize()`; reuse one slot for
    /// many records instead of allocating guarded memory per record.
    public static func slot() throws(CryptoError) -> SymmetricKey {
        SymmetricKey(storage: try SecureBytes(count: byteCount))
    }

    init(storage: SecureBytes) {
        self.storage = storage
    }

    /// Refills this slot with fresh random bytes.
    public func randomize() {
        storage.randomize()
    }

    public func wipe() {
        storage.wipe()
    }

    public static func == (lhs: SymmetricKey, rhs: SymmetricKey) -> Bool {
        lhs.storage.constantTimeEquals(rhs.storage)
    }

    /// Exposes the raw bytes only to write a key file at creation time.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try storage.withUnsafeBytes(body)
    }
}
