import CSodium
import Crypto

/// Hashes: BLAKE2b for token and policy digests (keyed, for tags only a key's holder can make),
/// SHA-256 where an outside verifier expects RFC 6962 hashing. SHA-256 comes from swift-crypto (BoringSSL), which uses the CPU's SHA
/// extensions where libsodium's portable C does not: hashing bounds `audit verify`.
public enum Digest {
    public static func blake2b(_ bytes: [UInt8], outputByteCount: Int = 32) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: outputByteCount)
        bytes.withUnsafeBytes { b in
            _ = crypto_generichash(&out, outputByteCount, b.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count), nil, 0)
        }
        return out
    }

    /// Keyed BLAKE2b: a tag nobody without the key can compute or predict, such as a web form's
    /// token bound to one session.
    public static func blake2b(_ bytes: [UInt8], key: SymmetricKey, outputByteCount: Int = 32) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: outputByteCount)
        bytes.withUnsafeBytes { b in
            key.storage.withUnsafeBytes { k in
                _ = crypto_generichash(
                    &out, outputByteCount, b.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count),
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), SymmetricKey.byteCount)
            }
        }
        return out
    }

    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    /// SHA-256 into a caller's 32-byte buffer, for hot paths (hashing an audit trail) that must
    /// not allocate per item.
    public static func sha256(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        SHA256.hash(data: bytes).withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { sha256($0) }
    }

    /// Incremental SHA-256 for hashing a prefix byte and two children without concatenating.
    public struct SHA256Stream {
        private var state = SHA256()

        public init() {}

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            state.update(data: bytes)
        }

        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        public mutating func update(byte: UInt8) {
            var b = byte
            withUnsafeBytes(of: &b) { update($0) }
        }

        public mutating func finalize() -> [UInt8] {
            Array(state.finalize())
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
