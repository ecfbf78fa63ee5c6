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

extension SymmetricKey {
    /// The key as 64 lowercase hex digits in guarded memory, for writing a key file without a
    /// copy of the key in ordinary, unwiped memory.
    public func hexEncoded() throws(CryptoError) -> SecureBytes {
        let hex = try SecureBytes(count: Self.byteCount * 2 + 1)
        hex.withUnsafeMutableBytes { out in
            storage.withUnsafeBytes { raw in
                _ = sodium_bin2hex(
                    out.baseAddress!.assumingMemoryBound(to: CChar.self), out.count,
                    raw.baseAddress!.assumingMemoryBound(to: UInt8.self), raw.count)
            }
        }
        return hex
    }

    /// Reads a key from hex text (surrounding white space ignored) straight into guarded memory.
    public init(hex text: UnsafeRawBufferPointer) throws(CryptoError) {
        Sodium.ensureReady()
        var start = 0
        var end = text.count
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        while start < end, isSpace(text[start]) { start += 1 }
        while end > start, isSpace(text[end - 1]) { end -= 1 }
        guard end - start == Self.byteCount * 2 else { throw .malformedInput }
        let slot = try SymmetricKey.slot()
        var written = 0
        let status = slot.storage.withUnsafeMutableBytes { out in
            sodium_hex2bin(
                out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count,
                text.baseAddress!.assumingMemoryBound(to: CChar.self) + start, end - start, nil, &written, nil)
        }
        guard status == 0, written == Self.byteCount else {
            slot.wipe()
            throw .malformedInput
        }
        self = slot
    }
}
