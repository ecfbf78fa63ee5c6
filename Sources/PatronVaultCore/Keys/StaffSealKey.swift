import Foundation
import PatronVaultCrypto

/// Seals what a staff row grants: whose token hash opens which role. The tag lives in the key
/// store, so an edit to `vault.db` (a role raised, a token hash swapped for the editor's own, a
/// revoked account copied back as active from an earlier copy, an account added by hand) makes
/// the row and its tag disagree, and the token is refused as an integrity failure.
struct StaffSealKey: Sendable {
    private let hash: BlindIndexKey

    init(key: SymmetricKey) {
        hash = BlindIndexKey(key: key, outputByteCount: 32)
    }

    /// The tag of an account in one state. The revocation time is not in it (only whether the
    /// account is revoked), so a revocation can commit in `vault.db` first and seal after.
    func tag(of account: StaffAccount, tokenHash: [UInt8], revoked: Bool) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 128)
        writer.append("patronvault.staff-seal")
        writer.append(account.id)
        writer.append(account.name)
        writer.append(account.role.rawValue)
        writer.append(bytes: tokenHash)
        writer.append(Int64((account.createdAt.timeIntervalSince1970 * 1000).rounded(.down)))
        writer.append(byte: revoked ? 1 : 0)
        // Only remote-only accounts carry the mark, so every seal made before it existed holds.
        if account.remoteOnly { writer.append("remote-only") }
        return hash.index(of: writer.bytes)
    }

    /// Whether a stored tag vouches for a row. An active row needs the active tag. A revoked row
    /// takes either: the revoked tag, or the active one when the revocation committed and its
    /// seal did not follow (a crash between the two); a revoked row can only take privilege away.
    func vouches(for row: StaffRow, tag: [UInt8]?) -> Bool {
        guard let tag else { return false }
        if ConstantTime.equals(tag, self.tag(of: row.account, tokenHash: row.tokenHash, revoked: false)) { return true }
        return !row.account.isActive && ConstantTime.equals(tag, self.tag(of: row.account, tokenHash: row.tokenHash, revoked: true))
    }
}
