import CSodium

/// XChaCha20-Poly1305-IETF with a random 192-bit nonce drawn for every message: random nonces
/// are safe at this size, so no caller can ever reuse one. Output is `nonce ‖ ciphertext ‖ tag`.
public enum XChaCha20Poly1305 {
    public static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    public static let overhead = nonceByteCount + tagByteCount

    /// Seals `plaintext`, binding it to `associatedData` so it cannot be moved to another context.
    public static func seal(
        _ plaintext: UnsafeRawBufferPointer,
        using key: SymmetricKey,
        authenticating associatedData: UnsafeRawBufferPointer
    ) -> [UInt8] {
        Sodium.ensureReady()
        let total = plaintext.count + overhead
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            let base = out.baseAddress!
            randombytes_buf(base, nonceByteCount)
            var written: UInt64 = 0
            key.storage.withUnsafeBytes { k in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                    base + nonceByteCount, &written,
                    plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                    associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(associatedData.count),
                    nil, base, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            initialized = nonceByteCount + Int(written)
        }
    }

    public static func seal(_ plaintext: [UInt8], using key: SymmetricKey, authenticating associatedData: [UInt8]) -> [UInt8] {
        plaintext.withUnsafeBytes { p in
            associatedData.withUnsafeBytes { a in seal(p, using: key, authenticating: a) }
        }
    }

    /// Opens a sealed box; any change to the box, the key or the associated data fails with
    /// `CryptoError.authenticationFailure` and yields no plaintext.
    public static func open(
        _ box: UnsafeRawBufferPointer,
        using key: SymmetricKey,
        authenticating associatedData: UnsafeRawBufferPointer
    ) throws(CryptoError) -> [UInt8] {
        Sodium.ensureReady()
        guard box.count >= overhead else { throw .authenticationFailure }
        let plainCount = box.count - overhead
        var failed = false
        let plain = [UInt8](unsafeUninitializedCapacity: max(plainCount, 1)) { out, initialized in
            var written: UInt64 = 0
            let base = box.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let status = key.storage.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out.baseAddress!, &written, nil,
                    base + nonceByteCount, UInt64(box.count - nonceByteCount),
                    associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(associatedData.count),
                    base, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            if status != 0 {
                failed = true
                initialized = 0
            } else {
                initialized = Int(written)
            }
        }
        if failed { throw .authenticationFailure }
        return plain
    }

    public static func open(_ box: [UInt8], using key: SymmetricKey, authenticating associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        let result: Result<[UInt8], CryptoError> = box.withUnsafeBytes { b in
            associatedData.withUnsafeBytes { a in
                Result { () throws(CryptoError) -> [UInt8] in try open(b, using: key, authenticating: a) }
            }
        }
        return try result.get()
    }
}
