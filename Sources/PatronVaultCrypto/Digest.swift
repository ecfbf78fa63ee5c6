import CSodium

/// Unkeyed hashes: BLAKE2b for token and policy digests, SHA-256 where an outside verifier
/// expects RFC 6962 hashing.
public enum Digest {
    public static func blake2b(_ bytes: [UInt8], outputByteCount: Int = 32) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: outputByteCount)
        bytes.withUnsafeBytes { b in
            _ = crypto_generichash(&out, outputByteCount, b.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count), nil, 0)
        }
        return out
    }

    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&out, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        return out
    }

    /// SHA-256 into a caller's 32-byte buffer, for hot paths (hashing an audit trail) that must
    /// not allocate per item.
    public static func sha256(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        Sodium.ensureReady()
        _ = crypto_hash_sha256(
            out.assumingMemoryBound(to: UInt8.self), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { sha256($0) }
    }

    /// Incremental SHA-256 for hashing a prefix byte and two children without concatenating.
    public struct SHA256Stream {
        private var state = crypto_hash_sha256_state()

        public init() {
            Sodium.ensureReady()
            crypto_hash_sha256_init(&state)
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            _ = crypto_hash_sha256_update(&state, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        }

        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        public mutating func update(byte: UInt8) {
            var b = byte
            withUnsafeBytes(of: &b) { update($0) }
        }

        public mutating func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            crypto_hash_sha256_final(&state, &out)
            return out
        }
    }
}

/// Random bytes from the OS CSPRNG via libsodium.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }
}
