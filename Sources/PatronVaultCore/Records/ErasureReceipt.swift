import Foundation
import PatronVaultCrypto

/// What a patron keeps after their account is erased: when, how much was destroyed, and a hash
/// that fixes those facts, so a receipt shown later can be checked against the one handed out.
/// It names no field of the erased account; the audit entries about the account stay (the trail
/// must stay verifiable) but name only a pseudonym that nothing links to a person any more.
public struct ErasureReceipt: Sendable, Equatable, Encodable {
    public static let format = "patronvault.erasure-receipt.v1"

    public let format: String
    public let erasedAt: Date
    /// Record versions deleted with their keys: the registration and every history loan.
    public let recordsDestroyed: Int
    /// Of those, returned loans kept as reading history.
    public let historyDestroyed: Int
    /// Audit entries about the account, kept, now about an unlinkable pseudonym.
    public let auditEntriesKept: Int
    /// Whether every key (the patron key and every record key under it) and its journal residue
    /// was destroyed before the receipt was made; if not, the next maintenance pass finishes it.
    public let keysDestroyed: Bool
    /// The digest of the rules in force, which the audit entry of the erasure carries too.
    public let policyDigest: String
    /// BLAKE2b-256 of the fields above, canonically encoded.
    public let receiptHash: String

    init(erasedAt: Date, recordsDestroyed: Int, historyDestroyed: Int, auditEntriesKept: Int, keysDestroyed: Bool, policyDigest: String) {
        format = Self.format
        self.erasedAt = erasedAt
        self.recordsDestroyed = recordsDestroyed
        self.historyDestroyed = historyDestroyed
        self.auditEntriesKept = auditEntriesKept
        self.keysDestroyed = keysDestroyed
        self.policyDigest = policyDigest
        receiptHash = Self.hash(
            erasedAt: erasedAt, recordsDestroyed: recordsDestroyed, historyDestroyed: historyDestroyed,
            auditEntriesKept: auditEntriesKept, keysDestroyed: keysDestroyed, policyDigest: policyDigest)
    }

    /// Recomputes the hash of a receipt's fields (what a front end checks a receipt with).
    public static func hash(
        erasedAt: Date, recordsDestroyed: Int, historyDestroyed: Int, auditEntriesKept: Int, keysDestroyed: Bool, policyDigest: String
    ) -> String {
        var writer = CanonicalWriter(capacity: 128)
        writer.append(format)
        writer.append(Int64((erasedAt.timeIntervalSince1970 * 1000).rounded()))
        writer.append(Int64(recordsDestroyed))
        writer.append(Int64(historyDestroyed))
        writer.append(Int64(auditEntriesKept))
        writer.append(byte: keysDestroyed ? 1 : 0)
        writer.append(policyDigest)
        return Hex.encode(Digest.blake2b(writer.bytes))
    }
}
