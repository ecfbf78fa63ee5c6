import Foundation
import PatronVaultAudit
import PatronVaultCrypto

/// The public halves of audit and export keys replaced by `keys rotate-signing`, with when each
/// pair retired: what keeps old checkpoints, backup manifests, exports and receipts verifiable.
/// Kept in `keys.db` with a MAC under the audit MAC key (which a rotation keeps), so a key store
/// editor cannot slip in a key of their own to vouch for forged checkpoints.
struct RetiredSigningKeys: Sendable {
    struct Pair: Sendable {
        let auditKey: VerifyingKey
        let exportKey: VerifyingKey
        let retiredAt: Date
    }

    static let metadataName = "retired_signing_keys"
    private static let pairByteCount = 32 + 32 + 8
    private static let macByteCount = 32

    let pairs: [Pair]

    init(pairs: [Pair] = []) {
        self.pairs = pairs
    }

    /// Reads the stored list, checking its MAC; no stored value is an empty list.
    init(stored: [UInt8]?, macKey: SymmetricKey) throws(VaultError) {
        guard let stored else {
            self.init()
            return
        }
        let body = Array(stored.dropLast(Self.macByteCount))
        guard stored.count >= Self.macByteCount, ConstantTime.equals(Array(stored.suffix(Self.macByteCount)), Digest.blake2b(Self.macInput(body), key: macKey)) else {
            throw VaultError.integrity
        }
        try self.init(body: body)
    }

    /// The stored list read without its MAC (which needs the master key): for showing, never
    /// for verifying. Nil when it does not parse.
    static func unverified(stored: [UInt8]?) -> RetiredSigningKeys? {
        guard let stored else { return RetiredSigningKeys() }
        guard stored.count >= macByteCount else { return nil }
        return try? RetiredSigningKeys(body: Array(stored.dropLast(macByteCount)))
    }

    private init(body: [UInt8]) throws(VaultError) {
        guard body.count % Self.pairByteCount == 0 else { throw VaultError.integrity }
        var pairs: [Pair] = []
        for start in stride(from: 0, to: body.count, by: Self.pairByteCount) {
            let millis = body[(start + 64)..<(start + 72)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            do {
                pairs.append(Pair(
                    auditKey: try VerifyingKey(bytes: Array(body[start..<(start + 32)])), exportKey: try VerifyingKey(bytes: Array(body[(start + 32)..<(start + 64)])),
                    retiredAt: Date(timeIntervalSince1970: Double(millis) / 1000)))
            } catch {
                throw VaultError.integrity
            }
        }
        self.init(pairs: pairs)
    }

    /// The list with one more pair, encoded and MACed for the key store.
    func adding(_ pair: Pair, macKey: SymmetricKey) -> (list: RetiredSigningKeys, stored: [UInt8]) {
        let list = RetiredSigningKeys(pairs: pairs + [pair])
        var body: [UInt8] = []
        for pair in list.pairs {
            body += pair.auditKey.bytes + pair.exportKey.bytes
            let millis = Int64((pair.retiredAt.timeIntervalSince1970 * 1000).rounded(.up))
            body += (0..<8).map { UInt8(truncatingIfNeeded: millis >> (56 - 8 * $0)) }
        }
        return (list, body + Digest.blake2b(Self.macInput(body), key: macKey))
    }

    /// The audit keys a verifier accepts, each retired one up to its retirement.
    func auditKeys(current: VerifyingKey) -> AuditSigningKeys {
        AuditSigningKeys(current: current, retired: pairs.map {
            AuditSigningKeys.Retired(key: $0.auditKey, untilMicroseconds: Int64(($0.retiredAt.timeIntervalSince1970 * 1_000_000).rounded(.up)))
        })
    }

    private static func macInput(_ body: [UInt8]) -> [UInt8] {
        Array("patronvault.retired-signing-keys".utf8) + body
    }
}
