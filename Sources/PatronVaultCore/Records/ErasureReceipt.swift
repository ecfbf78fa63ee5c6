import Foundation
import PatronVaultCrypto

/// What a patron keeps after their account is erased: when, how much was destroyed, a hash that
/// fixes those facts, and the vault's signature over the hash with its export key, so the patron
/// (or anyone they show it to) can check the receipt with the public key alone
/// (`export verify-receipt`). It names no field of the erased account; the audit entries about
/// the account stay (the trail must stay verifiable) but name only a pseudonym that nothing
/// links to a person any more.
public struct ErasureReceipt: Sendable, Equatable {
    public static let format = "patronvault.erasure-receipt.v1"

    public let format: String
    public let erasedAt: Date
    /// Record versions deleted with their keys: the registration and every history loan.
    public let recordsDestroyed: Int
    /// Of those, returned loans kept as reading history.
    public let historyDestroyed: Int
    /// Audit entries about the account before the erasure, kept, now about an unlinkable pseudonym.
    public let auditEntriesKept: Int
    /// Whether every key (the patron key and every record key under it) and its journal residue
    /// was destroyed before the receipt was made; if not, the next maintenance pass finishes it.
    public let keysDestroyed: Bool
    /// The digest of the rules in force, which the audit entry of the erasure carries too.
    public let policyDigest: String
    /// BLAKE2b-256 of the fields above, canonically encoded.
    public let receiptHash: String
    /// The public export key that signed the receipt, and its Ed25519 signature over the hash.
    public let exportKey: String
    public let signature: String

    init(
        erasedAt: Date, recordsDestroyed: Int, historyDestroyed: Int, auditEntriesKept: Int, keysDestroyed: Bool, policyDigest: String,
        signingKey: SigningKey
    ) {
        format = Self.format
        self.erasedAt = Date(timeIntervalSince1970: (erasedAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        self.recordsDestroyed = recordsDestroyed
        self.historyDestroyed = historyDestroyed
        self.auditEntriesKept = auditEntriesKept
        self.keysDestroyed = keysDestroyed
        self.policyDigest = policyDigest
        let hash = Self.hash(
            erasedAt: self.erasedAt, recordsDestroyed: recordsDestroyed, historyDestroyed: historyDestroyed,
            auditEntriesKept: auditEntriesKept, keysDestroyed: keysDestroyed, policyDigest: policyDigest)
        receiptHash = Hex.encode(hash)
        exportKey = signingKey.publicKey.hex
        signature = Hex.encode(signingKey.signature(for: hash))
    }

    static func hash(
        erasedAt: Date, recordsDestroyed: Int, historyDestroyed: Int, auditEntriesKept: Int, keysDestroyed: Bool, policyDigest: String
    ) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 128)
        writer.append(format)
        writer.append(Int64((erasedAt.timeIntervalSince1970 * 1000).rounded()))
        writer.append(Int64(recordsDestroyed))
        writer.append(Int64(historyDestroyed))
        writer.append(Int64(auditEntriesKept))
        writer.append(byte: keysDestroyed ? 1 : 0)
        writer.append(policyDigest)
        return Digest.blake2b(writer.bytes)
    }

    /// Checks a receipt as printed with `--json`: its hash recomputed from its fields, and the
    /// signature over the hash with `key` (the library's published export key, never the one the
    /// receipt names).
    public static func verify(json: [UInt8], key: VerifyingKey) throws(VaultError) {
        let failure = VaultError(.integrityFailure, "the erasure receipt fails verification: its fields, hash or signature were changed, or another key signed it")
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(json)), fields.format == format,
              let erasedAt = try? Date(fields.erasedAt, strategy: .iso8601)
        else {
            throw VaultError.invalid("this is not a PatronVault erasure receipt printed with --json")
        }
        let hash = Self.hash(
            erasedAt: Date(timeIntervalSince1970: Double(fields.erasedAtMilliseconds) / 1000), recordsDestroyed: fields.recordsDestroyed,
            historyDestroyed: fields.historyDestroyed, auditEntriesKept: fields.auditEntriesKept, keysDestroyed: fields.keysDestroyed,
            policyDigest: fields.policyDigest)
        guard abs(erasedAt.timeIntervalSince1970 - Double(fields.erasedAtMilliseconds) / 1000) < 1,
              Hex.encode(hash) == fields.receiptHash, let signature = Hex.decode(fields.signature), key.isValidSignature(signature, for: hash)
        else { throw failure }
    }

    private struct Fields: Decodable {
        let format: String
        let erasedAt: String
        let erasedAtMilliseconds: Int64
        let recordsDestroyed: Int
        let historyDestroyed: Int
        let auditEntriesKept: Int
        let keysDestroyed: Bool
        let policyDigest: String
        let receiptHash: String
        let signature: String
    }
}

/// Times as ISO 8601 and, exactly, in milliseconds (what the hash covers); every other field as
/// named. Decoded as the CLI reads the daemon's answer; whether it is genuine is
/// `verify(json:key:)`'s to say, never the decoder's.
extension ErasureReceipt: Codable {
    private enum CodingKeys: String, CodingKey {
        case format, erasedAt, erasedAtMilliseconds, recordsDestroyed, historyDestroyed, auditEntriesKept, keysDestroyed, policyDigest
        case receiptHash, exportKey, signature
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(erasedAt.formatted(.iso8601), forKey: .erasedAt)
        try container.encode(Int64((erasedAt.timeIntervalSince1970 * 1000).rounded()), forKey: .erasedAtMilliseconds)
        try container.encode(recordsDestroyed, forKey: .recordsDestroyed)
        try container.encode(historyDestroyed, forKey: .historyDestroyed)
        try container.encode(auditEntriesKept, forKey: .auditEntriesKept)
        try container.encode(keysDestroyed, forKey: .keysDestroyed)
        try container.encode(policyDigest, forKey: .policyDigest)
        try container.encode(receiptHash, forKey: .receiptHash)
        try container.encode(exportKey, forKey: .exportKey)
        try container.encode(signature, forKey: .signature)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decode(String.self, forKey: .format)
        erasedAt = Date(timeIntervalSince1970: Double(try container.decode(Int64.self, forKey: .erasedAtMilliseconds)) / 1000)
        recordsDestroyed = try container.decode(Int.self, forKey: .recordsDestroyed)
        historyDestroyed = try container.decode(Int.self, forKey: .historyDestroyed)
        auditEntriesKept = try container.decode(Int.self, forKey: .auditEntriesKept)
        keysDestroyed = try container.decode(Bool.self, forKey: .keysDestroyed)
        policyDigest = try container.decode(String.self, forKey: .policyDigest)
        receiptHash = try container.decode(String.self, forKey: .receiptHash)
        exportKey = try container.decode(String.self, forKey: .exportKey)
        signature = try container.decode(String.self, forKey: .signature)
    }
}
