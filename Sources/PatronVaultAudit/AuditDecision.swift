/// The outcome the policy engine reached; recorded for forbidden attempts too, because a refused
/// look at a patron's record is as telling as a permitted one.
public enum AuditDecision: String, Sendable, Equatable, CaseIterable {
    case permit
    case forbid
}
