import CSodium

/// The audit trail signs checkpoints, not entries (Crosby & Wallach): Ed25519 is fast enough for
/// that and its public half can be handed to an outside verifier.
public struct SigningKey: Sendable {
    public static let seedByteCount = Int(crypto_sign_SEEDBYTES)
    private let secret: SecureBytes
    public let publicKey: VerifyingKey

    /// Recreates the key pair from a 32-byte seed held as a `SymmetricKey` (wrapped at rest).
    public init(seed: SymmetricKey) throws(CryptoError) {
        Sodium.ensureReady()
        let secret = try SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES))
        var publicBytes = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        secret.withUnsafeMutableBytes { sk in
            seed.storage.withUnsafeBytes { s in
                _ = crypto_sign_seed_keypair(
                    &publicBytes, sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        self.secret = secret
        self.publicKey = VerifyingKey(uncheckedBytes: publicBytes)
    }

    public func signature(for message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
        message.withUnsafeBytes { m in
            secret.withUnsafeBytes { sk in
                _ = crypto_sign_detached(
                    &signature, nil, m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                    sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return signature
    }
}

/// An Ed25519 public key; safe to print, export and pin outside the vault.
public struct VerifyingKey: Sendable, Hashable {
    public static let byteCount = Int(crypto_sign_PUBLICKEYBYTES)
    public static let signatureByteCount = Int(crypto_sign_BYTES)
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else { throw .invalidLength(expected: Self.byteCount, actual: bytes.count) }
        self.bytes = bytes
    }

    init(uncheckedBytes: [UInt8]) {
        bytes = uncheckedBytes
    }

    /// Reads a key published as 64 hex digits (`export key` prints it so).
    public init(hex: String) throws(CryptoError) {
        Sodium.ensureReady()
        let text = Array(hex.utf8)
        guard text.count == 2 * Self.byteCount else { throw .malformedInput }
        var out = [UInt8](repeating: 0, count: Self.byteCount)
        var written = 0
        let status = text.withUnsafeBytes { raw in
            sodium_hex2bin(&out, out.count, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count, nil, &written, nil)
        }
        guard status == 0, written == Self.byteCount else { throw .malformedInput }
        bytes = out
    }

    /// The key as 64 lowercase hex digits, the form it is published and pinned in.
    public var hex: String {
        var out = [CChar](repeating: 0, count: 2 * bytes.count + 1)
        _ = sodium_bin2hex(&out, out.count, bytes, bytes.count)
        return String(decoding: out.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        Sodium.ensureReady()
        guard signature.count == Self.signatureByteCount else { return false }
        return message.withUnsafeBytes { m in
            crypto_sign_verify_detached(signature, m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count), bytes) == 0
        }
    }
}
