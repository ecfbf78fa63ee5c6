import CSodium

/// Argon2id cost settings. Named after libsodium's presets so their cost is known:
/// interactive ~64 MiB, moderate ~256 MiB.
public struct Argon2Limits: Sendable, Equatable {
    public let operations: UInt64
    public let memoryBytes: Int

    public init(operations: UInt64, memoryBytes: Int) {
        self.operations = operations
        self.memoryBytes = memoryBytes
    }

    /// For PINs checked at a desk or kiosk: fast enough for a login, costly for guessing.
    public static var interactive: Argon2Limits {
        Sodium.ensureReady()
        return Argon2Limits(operations: UInt64(crypto_pwhash_opslimit_interactive()), memoryBytes: crypto_pwhash_memlimit_interactive())
    }

    /// For the vault passphrase, entered rarely and guarding everything.
    public static var moderate: Argon2Limits {
        Sodium.ensureReady()
        return Argon2Limits(operations: UInt64(crypto_pwhash_opslimit_moderate()), memoryBytes: crypto_pwhash_memlimit_moderate())
    }
}

/// Argon2id for PINs (self-describing hash strings) and passphrases (key derivation with a salt).
public enum Argon2id {
    public static let saltByteCount = Int(crypto_pwhash_SALTBYTES)

    /// Hashes a secret into libsodium's `$argon2id$…` string, which carries its own salt and limits.
    public static func hash(_ secret: [UInt8], limits: Argon2Limits = .interactive) throws(CryptoError) -> String {
        Sodium.ensureReady()
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let status = withCString(secret) { s, count in
            crypto_pwhash_str_alg(&out, s, count, limits.operations, limits.memoryBytes, crypto_pwhash_ALG_ARGON2ID13)
        }
        guard status == 0 else { throw .passwordHashingFailed }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Verifies in constant time with respect to the secret.
    public static func verify(_ secret: [UInt8], against encoded: String) -> Bool {
        Sodium.ensureReady()
        var cString = Array(encoded.utf8CString)
        return withCString(secret) { s, count in
            crypto_pwhash_str_verify(&cString, s, count) == 0
        }
    }

    /// Derives a 256-bit key from a passphrase and a stored salt.
    public static func deriveKey(from passphrase: [UInt8], salt: [UInt8], limits: Argon2Limits = .moderate) throws(CryptoError) -> SymmetricKey {
        Sodium.ensureReady()
        guard salt.count == saltByteCount else { throw .invalidLength(expected: saltByteCount, actual: salt.count) }
        let key = try SymmetricKey.slot()
        let status = key.storage.withUnsafeMutableBytes { out in
            withCString(passphrase) { p, count in
                crypto_pwhash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(SymmetricKey.byteCount),
                    p, count, salt, limits.operations, limits.memoryBytes, crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard status == 0 else { throw .passwordHashingFailed }
        return key
    }

    /// libsodium wants a non-null pointer even for an empty secret.
    private static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>, UInt64) -> R) -> R {
        let padded = bytes.isEmpty ? [0] : bytes
        return padded.withUnsafeBytes { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(bytes.count))
        }
    }
}
