import Foundation

/// One access question, in the terms policies use.
public struct AccessQuery: Sendable {
    public let principal: Principal
    public let action: AccessAction
    public let resourceKind: ResourceKind
    /// The patron the resource concerns, if any.
    public let patron: PatronPseudonym?
    public let state: String?
    public let purpose: String?
    public let legalOrder: Bool
    public let time: Date
    public let frontEnd: FrontEnd
}

/// The answer, with the rules that decided and a reason a person can read.
public struct AccessVerdict: Sendable {
    public let permitted: Bool
    public let ruleIDs: [String]
    public let reason: String

    public init(permitted: Bool, ruleIDs: [String], reason: String) {
        self.permitted = permitted
        self.ruleIDs = ruleIDs
        self.reason = reason
    }
}

/// The single gate every operation on patron data passes. Swappable so tests can prove that
/// a gate which forbids everything stops every operation.
public protocol AccessGate: Sendable {
    /// Identifies the rule set that decided, for the audit trail.
    var digest: String { get }
    func decide(_ query: AccessQuery) -> AccessVerdict
}
