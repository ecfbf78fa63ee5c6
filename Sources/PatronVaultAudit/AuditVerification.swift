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

/// Encoded as `intact`, `entries` and `checkpoints`, plus `firstBadSequence` and `problem` only
/// when the trail is broken: the keys scripts already read.
extension AuditVerification: Codable {
    private enum CodingKeys: String, CodingKey {
        case intact, entries, checkpoints, firstBadSequence, problem
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isIntact, forKey: .intact)
        try container.encode(entryCount, forKey: .entries)
        try container.encode(checkpointsVerified, forKey: .checkpoints)
        try container.encodeIfPresent(firstBadSequence, forKey: .firstBadSequence)
        try container.encodeIfPresent(problem, forKey: .problem)
    }

    /// As a front end reads a daemon's answer; the daemon holds the MAC key, so its chain was checked.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            entryCount: try container.decode(Int64.self, forKey: .entries), isIntact: try container.decode(Bool.self, forKey: .intact),
            firstBadSequence: try container.decodeIfPresent(Int64.self, forKey: .firstBadSequence),
            problem: try container.decodeIfPresent(String.self, forKey: .problem),
            checkpointsVerified: try container.decode(Int.self, forKey: .checkpoints), macChainChecked: true)
    }
}
