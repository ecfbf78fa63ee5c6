import Foundation
import Testing
@testable import PatronVaultCrypto

@Suite struct SealingTests {
    @Test func sealThenOpenRoundTrips() throws {
        let key = try SymmetricKey.random()
        let box = XChaCha20Poly1305.seal(Array("reading history".utf8), using: key, authenticating: [1, 2, 3])
        #expect(box.count == 15 + XChaCha20Poly1305.overhead)
        let plain = try XChaCha20Poly1305.open(box, using: key, authenticating: [1, 2, 3])
        #expect(plain == Array("reading history".utf8))
    }

    @Test func everyFlippedByteIsRefused() throws {
        let key = try SymmetricKey.random()
        let box = XChaCha20Poly1305.seal(Array("x".utf8), using: key, authenticating: [])
        for index in box.indices {
            var tampered = box
            tampered[index] ^= 0x01
            #expect(throws: CryptoError.authenticationFailure) {
                try XChaCha20Poly1305.open(tampered, using: key, authenticating: [])
            }
        }
    }

    @Test func otherAssociatedDataOrKeyIsRefused() throws {
        let key = try SymmetricKey.random()
        let box = XChaCha20Poly1305.seal([9, 9], using: key, authenticating: [1])
        #expect(throws: CryptoError.authenticationFailure) { try XChaCha20Poly1305.open(box, using: key, authenticating: [2]) }
        #expect(throws: CryptoError.authenticationFailure) { try XChaCha20Poly1305.open(box, using: try SymmetricKey.random(), authenticating: [1]) }
        #expect(throws: CryptoError.authenticationFailure) { try XChaCha20Poly1305.open([1, 2, 3], using: key, authenticating: [1]) }
    }

    @Test func noncesAreFreshForEveryMessage() throws {
        let key = try SymmetricKey.random()
        let a = XChaCha20Poly1305.seal([0], using: key, authenticating: [])
        let b = XChaCha20Poly1305.seal([0], using: key, authenticating: [])
        #expect(a.prefix(24) != b.prefix(24))
    }

    @Test func errorTextSaysOnlyThatAuthenticationFailed() {
        #expect(CryptoError.authenticationFailure.description == "authentication failed")
    }
}

@Suite struct KeyTests {
    @Test func hexRoundTripsThroughGuardedMemory() throws {
        let key = try SymmetricKey.random()
        let hex = try key.hexEncoded()
        let text = hex.withUnsafeBytes { Array($0.prefix(64)) }
        #expect(text.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        let padded = Array("  \n".utf8) + text + Array("\n".utf8)
        let back = try padded.withUnsafeBytes { raw throws(CryptoError) in try SymmetricKey(hex: raw) }
        #expect(back == key)
        for bad in [Array(text.dropLast()), text.dropLast() + Array("g".utf8), text + Array("00".utf8)] {
            #expect(throws: CryptoError.self) { try bad.withUnsafeBytes { raw throws(CryptoError) in try SymmetricKey(hex: raw) } }
        }
    }

    @Test func wrappedKeyUnwrapsIntoASlotOnlyForItsOwner() throws {
        let kek = try SymmetricKey.random()
        let patronKey = try SymmetricKey.random()
        let wrapped = kek.wrap(patronKey, authenticating: Array("patron-a".utf8))
        #expect(wrapped.count == SymmetricKey.wrappedByteCount)
        let slot = try SymmetricKey.slot()
        try kek.unwrap(wrapped, authenticating: Array("patron-a".utf8), into: slot)
        #expect(slot == patronKey)
        #expect(throws: CryptoError.authenticationFailure) {
            try kek.unwrap(wrapped, authenticating: Array("patron-b".utf8), into: slot)
        }
        #expect(slot != patronKey, "a failed unwrap must leave no key material in the slot")
    }

    @Test func subkeysDependOnIdAndContext() throws {
        let root = try SymmetricKey.random()
        let a = try root.deriveSubkey(id: 1, context: "blindidx")
        let b = try root.deriveSubkey(id: 2, context: "blindidx")
        let c = try root.deriveSubkey(id: 1, context: "auditkey")
        let again = try root.deriveSubkey(id: 1, context: "blindidx")
        #expect(a != b && a != c && a == again)
    }

    @Test func keyImportRejectsWrongLength() {
        #expect(throws: CryptoError.invalidLength(expected: 32, actual: 31)) {
            try SymmetricKey(bytes: [UInt8](repeating: 1, count: 31))
        }
    }

    @Test func secureBytesCompareByContent() throws {
        let a = try SecureBytes(copying: [1, 2, 3])
        let b = try SecureBytes(copying: [1, 2, 3])
        let c = try SecureBytes(copying: [1, 2, 4])
        #expect(a.constantTimeEquals(b))
        #expect(!a.constantTimeEquals(c))
        a.wipe()
        #expect(a.withUnsafeBytes { Array($0) } == [0, 0, 0])
    }
}

@Suite struct IndexAndHashTests {
    @Test func blindIndexIsKeyedAndDeterministic() throws {
        let k1 = BlindIndexKey(key: try SymmetricKey.random())
        let k2 = BlindIndexKey(key: try SymmetricKey.random())
        #expect(k1.index(of: "ada@example.org") == k1.index(of: "ada@example.org"))
        #expect(k1.index(of: "ada@example.org") != k2.index(of: "ada@example.org"))
        #expect(k1.index(of: "ada@example.org").count == 16)
    }

    @Test func sha256MatchesFIPSVectors() {
        let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var stream = Digest.SHA256Stream()
        stream.update(Array("a".utf8))
        stream.update(byte: UInt8(ascii: "b"))
        stream.update(Array("c".utf8))
        #expect(hex(stream.finalize()) == hex(Digest.sha256(Array("abc".utf8))))
    }

    @Test func argon2idVerifiesOnlyTheRightSecret() throws {
        let fast = Argon2Limits(operations: 1, memoryBytes: 8192 * 1024)
        let encoded = try Argon2id.hash(Array("4711".utf8), limits: fast)
        #expect(encoded.hasPrefix("$argon2id$"))
        #expect(Argon2id.verify(Array("4711".utf8), against: encoded))
        #expect(!Argon2id.verify(Array("4712".utf8), against: encoded))
        #expect(!Argon2id.verify([], against: encoded))
    }

    @Test func passphraseKeyDependsOnSalt() throws {
        let fast = Argon2Limits(operations: 1, memoryBytes: 8192 * 1024)
        let salt1 = SecureRandom.bytes(Argon2id.saltByteCount)
        let salt2 = SecureRandom.bytes(Argon2id.saltByteCount)
        let a = try Argon2id.deriveKey(from: Array("correct horse".utf8), salt: salt1, limits: fast)
        #expect(a == (try Argon2id.deriveKey(from: Array("correct horse".utf8), salt: salt1, limits: fast)))
        #expect(a != (try Argon2id.deriveKey(from: Array("correct horse".utf8), salt: salt2, limits: fast)))
    }

    @Test func ed25519SignaturesVerifyOnlyForTheSignedMessage() throws {
        let key = try SigningKey(seed: try SymmetricKey.random())
        let signature = key.signature(for: [1, 2, 3])
        #expect(key.publicKey.isValidSignature(signature, for: [1, 2, 3]))
        #expect(!key.publicKey.isValidSignature(signature, for: [1, 2, 4]))
        var forged = signature
        forged[0] ^= 1
        #expect(!key.publicKey.isValidSignature(forged, for: [1, 2, 3]))
    }
}
