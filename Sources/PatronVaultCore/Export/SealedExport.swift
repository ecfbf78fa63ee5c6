import Foundation
import PatronVaultCrypto

/// An export bundle sealed under a key derived from the patron's PIN (Argon2id, fresh salt),
/// for an export staff prepare at the patron's request: staff hand over a file they cannot read,
/// and the patron opens it with the PIN they typed (`export open`), then checks it as any bundle.
///
/// Layout: `PVSEALED1\n`, the 16-byte salt, Argon2id's operations and memory (two big-endian
/// UInt64), then XChaCha20-Poly1305 over the bundle's files (each a big-endian UInt32 name
/// length, the name, a UInt32 length, the bytes), the header as associated data.
public enum SealedExport {
    static let magic = Array("PVSEALED1\n".utf8)
    private static let headerByteCount = magic.count + Argon2id.saltByteCount + 16

    /// Seals `bundle`; `pin` must already have been checked against the patron's stored hash.
    static func seal(_ bundle: ExportBundle, pin: [UInt8], limits: Argon2Limits) throws(VaultError) -> [UInt8] {
        let salt = SecureRandom.bytes(Argon2id.saltByteCount)
        var header = magic + salt
        header += withUnsafeBytes(of: limits.operations.bigEndian, Array.init)
        header += withUnsafeBytes(of: UInt64(limits.memoryBytes).bigEndian, Array.init)
        var payload: [UInt8] = []
        payload.reserveCapacity(bundle.files.reduce(64) { $0 + $1.bytes.count + $1.name.utf8.count + 8 })
        for file in bundle.files {
            append(Array(file.name.utf8), to: &payload)
            append(file.bytes, to: &payload)
        }
        let key: SymmetricKey
        do {
            key = try Argon2id.deriveKey(from: pin, salt: salt, limits: limits)
        } catch {
            throw VaultError(.storageFailure, "the export could not be sealed (key derivation failed)")
        }
        return header + XChaCha20Poly1305.seal(payload, using: key, authenticating: header)
    }

    /// Opens a sealed export with the patron's PIN. A wrong PIN and an altered file give the
    /// same answer: the seal did not open.
    public static func open(_ sealed: [UInt8], pin: [UInt8]) throws(VaultError) -> ExportBundle {
        let failure = VaultError(.authenticationFailed, "the sealed export did not open: the PIN is wrong or the file was altered")
        guard sealed.count > headerByteCount, Array(sealed.prefix(magic.count)) == magic else {
            throw VaultError.invalid("this is not a sealed PatronVault export")
        }
        let header = Array(sealed.prefix(headerByteCount))
        let salt = Array(header[magic.count..<magic.count + Argon2id.saltByteCount])
        let operations = header[(magic.count + Argon2id.saltByteCount)...].prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let memory = header.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        // Limits from the file are bounded, so an edited header cannot ask for unbounded work.
        guard (1...16).contains(operations), (8_192...(1 << 30)).contains(memory) else { throw failure }
        let payload: [UInt8]
        do {
            let key = try Argon2id.deriveKey(from: pin, salt: salt, limits: Argon2Limits(operations: operations, memoryBytes: Int(memory)))
            payload = try XChaCha20Poly1305.open(Array(sealed[headerByteCount...]), using: key, authenticating: header)
        } catch {
            throw failure
        }
        var files: [ExportBundle.File] = []
        var offset = 0
        while offset < payload.count {
            guard let name = read(payload, at: &offset), let bytes = read(payload, at: &offset) else { throw failure }
            files.append(ExportBundle.File(name: String(decoding: name, as: UTF8.self), bytes: bytes))
        }
        return try ExportBundle(files: files)
    }

    private static func append(_ field: [UInt8], to payload: inout [UInt8]) {
        payload += withUnsafeBytes(of: UInt32(field.count).bigEndian, Array.init)
        payload += field
    }

    private static func read(_ payload: [UInt8], at offset: inout Int) -> [UInt8]? {
        guard offset + 4 <= payload.count else { return nil }
        let count = Int(payload[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        offset += 4
        guard offset + count <= payload.count else { return nil }
        defer { offset += count }
        return Array(payload[offset..<offset + count])
    }
}
