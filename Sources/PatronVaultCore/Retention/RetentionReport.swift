import Foundation
import PatronVaultAudit
import PatronVaultPolicy

/// What one rule of the schedule matched, or removed: counts only, never who.
public struct RetentionRuleResult: Sendable, Equatable, Codable {
    public let rule: String
    public let description: String
    /// The kind of records the rule governs (`history`, `expired-accounts`, …).
    public let kind: String
    /// The period as the schedule states it, such as "3 years".
    public let after: String
    /// Records counted from this day or earlier are due.
    public let cutoff: CalendarDay
    /// Records (rows, for sign-in failures and statistics) due or removed.
    public var records: Int
    /// Patrons they belonged to (none for the anonymous statistics).
    public var patrons: Int
    /// Patrons the rule matched but did not act on as their plaintext columns said: an account
    /// with something checked out, or one whose rows fail their record-set check or whose sealed
    /// expiry differs (left as it is); or a patron whose plaintext return days nominated loans
    /// the sealed dates do not make due (an edit: only the sealed-due loans are destroyed, and the
    /// patron is counted here as well as among `patrons`).
    public var kept: Int
}

/// A dry run's counts, or what a confirmed run removed.
public struct RetentionReport: Sendable, Codable {
    public let dryRun: Bool
    /// When the run began (a resumed run keeps the first start, and its cutoffs).
    public let startedAt: Date
    public let finishedAt: Date
    /// Whether this run continued one that had stopped part way.
    public let resumed: Bool
    public let policyDigest: String
    public let rules: [RetentionRuleResult]
    /// For a confirmed run: whether every destroyed key and its journal residue is gone; if not
    /// (a reader held a journal), the next maintenance pass finishes it.
    public let keysDestroyed: Bool
    /// For a confirmed run: the signed audit checkpoint taken after its last entry.
    public let checkpoint: String?

    private enum CodingKeys: String, CodingKey {
        case dryRun, startedAt, finishedAt, resumed, policyDigest, rules, keysDestroyed, checkpoint
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(startedAt.formatted(.iso8601), forKey: .startedAt)
        try container.encode(finishedAt.formatted(.iso8601), forKey: .finishedAt)
        try container.encode(resumed, forKey: .resumed)
        try container.encode(policyDigest, forKey: .policyDigest)
        try container.encode(rules, forKey: .rules)
        if !dryRun {
            try container.encode(keysDestroyed, forKey: .keysDestroyed)
            try container.encodeIfPresent(checkpoint, forKey: .checkpoint)
        }
    }
}

/// Decoded as a front end reads a daemon's answer (an extension, so the memberwise initialiser stays).
extension RetentionReport {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            dryRun: try container.decode(Bool.self, forKey: .dryRun), startedAt: try container.instant(.startedAt),
            finishedAt: try container.instant(.finishedAt), resumed: try container.decode(Bool.self, forKey: .resumed),
            policyDigest: try container.decode(String.self, forKey: .policyDigest), rules: try container.decode([RetentionRuleResult].self, forKey: .rules),
            keysDestroyed: try container.decodeIfPresent(Bool.self, forKey: .keysDestroyed) ?? false,
            checkpoint: try container.decodeIfPresent(String.self, forKey: .checkpoint))
    }
}

/// How far a confirmed run has got, for a progress bar.
public struct RetentionProgressEvent: Sendable {
    public let rule: String
    public let done: Int
    /// The dry run's count for the rule, taken when the run started.
    public let expected: Int
}
