import Foundation
import PatronVaultCrypto

/// Evidence for a library board that the schedule is applied: a confirmed run's rules, counts,
/// cutoffs, policy digest and the signed audit checkpoint taken after it, signed with the
/// vault's export key. No patron appears in it.
public struct RetentionReceipt: Sendable, Codable {
    public static let format = "patronvault.retention-receipt.v1"

    public struct Rule: Sendable, Codable, Equatable {
        public let rule: String
        public let kind: String
        public let after: String
        /// `YYYY-MM-DD`: records counted from this day or earlier were due.
        public let cutoff: String
        public let records: Int
        public let patrons: Int
        public let kept: Int
    }

    /// What the signature covers, hashed as JSON with sorted keys.
    public struct Body: Sendable, Codable, Equatable {
        public let format: String
        public let startedAt: String
        public let finishedAt: String
        public let resumed: Bool
        public let policyDigest: String
        public let rules: [Rule]
        public let keysDestroyed: Bool
        public let auditCheckpoint: String
    }

    public let receipt: Body
    /// The public export key that signed it; a verifier uses the library's published key.
    public let exportKey: String
    public let signature: String

    init(_ report: RetentionReport, signingKey: SigningKey) throws(VaultError) {
        guard !report.dryRun, let checkpoint = report.checkpoint else { throw VaultError.invalid("a dry run has no receipt; run with --confirm") }
        receipt = Body(
            format: Self.format, startedAt: report.startedAt.formatted(.iso8601), finishedAt: report.finishedAt.formatted(.iso8601),
            resumed: report.resumed, policyDigest: report.policyDigest,
            rules: report.rules.map {
                Rule(rule: $0.rule, kind: $0.kind, after: $0.after, cutoff: $0.cutoff.description, records: $0.records, patrons: $0.patrons, kept: $0.kept)
            },
            keysDestroyed: report.keysDestroyed, auditCheckpoint: checkpoint)
        exportKey = signingKey.publicKey.hex
        signature = Hex.encode(signingKey.signature(for: try Self.hash(receipt)))
    }

    static func hash(_ body: Body) throws(VaultError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let bytes = try? encoder.encode(body) else { throw VaultError.storage("the retention receipt could not be encoded") }
        return Digest.blake2b(Array((format + "\n").utf8) + Array(bytes))
    }

    /// Checks a receipt file: its body re-encoded and hashed, and the signature with `key` (the
    /// library's published export key, never the one the receipt names).
    public static func verify(json: [UInt8], key: VerifyingKey) throws(VaultError) -> RetentionReceipt {
        guard let receipt = try? JSONDecoder().decode(RetentionReceipt.self, from: Data(json)), receipt.receipt.format == format else {
            throw VaultError.invalid("this is not a PatronVault retention receipt written with --receipt")
        }
        guard let signature = Hex.decode(receipt.signature), key.isValidSignature(signature, for: try hash(receipt.receipt)) else {
            throw VaultError(.integrityFailure, "the retention receipt fails verification: its contents or signature were changed, or another key signed it")
        }
        return receipt
    }
}

extension Retention {
    /// The signed receipt of a confirmed run.
    public func receipt(for report: RetentionReport) throws(VaultError) -> RetentionReceipt {
        try RetentionReceipt(report, signingKey: gate.ring.exportSigningKey)
    }
}
