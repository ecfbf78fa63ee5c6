/// The verifier's finding. When the trail is not intact, `firstBadSequence` names the first entry
/// that cannot be trusted and `problem` says why in a sentence (never with entry contents).
public struct AuditVerification: Sendable, Equatable {
    /// Entries checked; when a problem is found, those read up to and including the bad one.
    public let entryCount: Int64
    public let isIntact: Bool
    /// The first sequence number that cannot be trusted; nil when intact, or when the problem
    /// (such as a missing state row) is not tied to an entry.
    public let firstBadSequence: Int64?
    public let problem: String?
    /// Stored (and external) checkpoints whose signature and root were checked.
    public let checkpointsVerified: Int
    /// Whether the keyed MAC chain was checked; without the MAC key only checkpoints can catch
    /// edits, and only for entries they cover.
    public let macChainChecked: Bool

    static func intact(entryCount: Int64, checkpointsVerified: Int, macChainChecked: Bool) -> AuditVerification {
        AuditVerification(
            entryCount: entryCount, isIntact: true, firstBadSequence: nil, problem: nil,
            checkpointsVerified: checkpointsVerified, macChainChecked: macChainChecked)
    }

    static func broken(
        at sequence: Int64?, _ problem: String, entryCount: Int64, checkpointsVerified: Int, macChainChecked: Bool
    ) -> AuditVerification {
        AuditVerification(
            entryCount: entryCount, isIntact: false, firstBadSequence: sequence, problem: problem,
            checkpointsVerified: checkpointsVerified, macChainChecked: macChainChecked)
    }
}
