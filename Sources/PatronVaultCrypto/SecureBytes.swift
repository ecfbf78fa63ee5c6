import CSodium

/// Secret bytes live in `sodium_malloc` memory: guard pages, a canary, `mlock` so they never
/// reach swap, and a wipe when freed. Allocation costs ~11 µs, so callers hold one per key and
/// reuse it (see `SymmetricKey.overwrite`), never one per record.
public final class SecureBytes: @unchecked Sendable {
    // Safety: the pointer is owned exclusively by this instance; mutation happens only through
    // `withUnsafeMutableBytes`, which callers use on instances they do not share across threads.
    private let pointer: UnsafeMutableRawPointer
    public let count: Int

    /// Allocates `count` zeroed bytes of guarded memory.
    public init(count: Int) throws(CryptoError) {
        Sodium.ensureReady()
        guard let raw = sodium_malloc(max(count, 1)) else { throw .secureMemoryUnavailable }
        sodium_memzero(raw, max(count, 1))
        pointer = raw
        self.count = count
    }

    /// Copies `bytes` into guarded memory. The caller should wipe its own copy.
    public convenience init(copying bytes: some Collection<UInt8>) throws(CryptoError) {
        try self.init(count: bytes.count)
        let target = pointer.assumingMemoryBound(to: UInt8.self)
        var index = 0
        for byte in bytes {
            target[index] = byte
            index += 1
        }
    }

    /// Fills with fresh random bytes.
    public convenience init(randomCount count: Int) throws(CryptoError) {
        try self.init(count: count)
        randombytes_buf(pointer, count)
    }

    deinit {
        sodium_free(pointer)
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Replaces the contents with fresh random bytes, reusing the allocation.
    public func randomize() {
        randombytes_buf(pointer, count)
    }

    /// Zeroes the contents without freeing them.
    public func wipe() {
        sodium_memzero(pointer, count)
    }

    /// Constant-time comparison: timing never reveals how many leading bytes matched.
    public func constantTimeEquals(_ other: SecureBytes) -> Bool {
        guard count == other.count else { return false }
        return sodium_memcmp(pointer, other.pointer, count) == 0
    }

    /// A copy as an ordinary array, for writing wrapped or public material only.
    func unsafeCopyToArray() -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// Constant-time equality for non-secret-holding buffers such as MACs and hashes.
public enum ConstantTime {
    public static func equals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard lhs.count > 0 else { return true }
        Sodium.ensureReady()
        return sodium_memcmp(lhs.baseAddress!, rhs.baseAddress!, lhs.count) == 0
    }

    public static func equals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in equals(l, r) } }
    }
}
