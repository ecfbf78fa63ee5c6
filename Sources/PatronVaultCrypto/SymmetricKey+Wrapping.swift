import CSodium

/// Key wrapping is AEAD over the raw key with the owner's identity as associated data, so a
/// wrapped key copied to another owner's row fails to open (Tink's empty-AAD pitfall avoided).
extension SymmetricKey {
    public static let wrappedByteCount = byteCount + XChaCha20Poly1305.overhead

    /// Wraps `key` under `self`, bound to `associatedData`.
    public func wrap(_ key: SymmetricKey, authenticating associatedData: [UInt8]) -> [UInt8] {
        key.storage.withUnsafeBytes { raw in
            associatedData.withUnsafeBytes { ad in
                XChaCha20Poly1305.seal(raw, using: self, authenticating: ad)
            }
        }
    }

    /// Unwraps into a fresh guarded allocation; use for long-lived keys (KEK-level).
    public func unwrap(_ wrapped: [UInt8], authenticating associatedData: [UInt8]) throws(CryptoError) -> SymmetricKey {
        let slot = try SymmetricKey.slot()
        try unwrap(wrapped, authenticating: associatedData, into: slot)
        return slot
    }

    /// Unwraps into an existing slot without allocating, decrypting straight into guarded memory;
    /// the hot path for per-record keys.
    public func unwrap(_ wrapped: [UInt8], authenticating associatedData: [UInt8], into slot: SymmetricKey) throws(CryptoError) {
        guard wrapped.count == Self.wrappedByteCount else { throw .authenticationFailure }
        let status = wrapped.withUnsafeBytes { box in
            associatedData.withUnsafeBytes { ad in
                slot.storage.withUnsafeMutableBytes { out in
                    storage.withUnsafeBytes { k in
                        let base = box.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        return crypto_aead_xchacha20poly1305_ietf_decrypt(
                            out.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, nil,
                            base + XChaCha20Poly1305.nonceByteCount,
                            UInt64(wrapped.count - XChaCha20Poly1305.nonceByteCount),
                            ad.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(associatedData.count),
                            base, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    }
                }
            }
        }
        if status != 0 {
            slot.wipe()
            throw .authenticationFailure
        }
    }

    /// Derives a subkey for one purpose (blind-index fields, audit keys) with libsodium's
    /// BLAKE2b KDF. `context` must be exactly 8 bytes of ASCII.
    public func deriveSubkey(id: UInt64, context: StaticString) throws(CryptoError) -> SymmetricKey {
        precondition(context.utf8CodeUnitCount == 8, "KDF context must be 8 bytes")
        let slot = try SymmetricKey.slot()
        slot.storage.withUnsafeMutableBytes { out in
            storage.withUnsafeBytes { k in
                context.withUTF8Buffer { ctx in
                    ctx.withMemoryRebound(to: CChar.self) { c in
                        _ = crypto_kdf_derive_from_key(
                            out.baseAddress!.assumingMemoryBound(to: UInt8.self), Self.byteCount, id,
                            c.baseAddress!, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                    }
                }
            }
        }
        return slot
    }
}

extension SymmetricKey {
    /// Keyed BLAKE2b-256 of `bytes` into a caller's 32-byte buffer: a MAC without allocation,
    /// for chaining audit entries.
    public func authenticationCode(for bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        storage.withUnsafeBytes { secret in
            _ = crypto_generichash(
                out.assumingMemoryBound(to: UInt8.self), 32,
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count),
                secret.baseAddress!.assumingMemoryBound(to: UInt8.self), secret.count)
        }
    }
}
