/// The gate's answer, with the rules that decided and words a person can read, so an audit
/// entry or a refused operation can say *why* and not only *no*.
public struct PolicyDecision: Sendable, Equatable {
    /// `.forbid` also when no rule permits (deny by default); `ruleIDs` is empty then.
    public let effect: PolicyEffect
    /// The rules that decided, sorted by id: every matching forbid if there is one, otherwise
    /// every matching permit.
    public let ruleIDs: [String]
    /// The deciding rules' descriptions, or why nothing permitted the request.
    public let reason: String
    /// For a permitted read: the fields the permitting rules reveal (their union), limited to
    /// those the action can show. Nothing for a forbid, whatever permits also matched.
    public let revealed: RevealedFields

    public init(effect: PolicyEffect, ruleIDs: [String], reason: String, revealed: RevealedFields = .nothing) {
        self.effect = effect
        self.ruleIDs = ruleIDs
        self.reason = reason
        self.revealed = effect == .permit ? revealed : .nothing
    }

    func revealing(_ fields: RevealedFields) -> PolicyDecision {
        fields == revealed ? self : PolicyDecision(effect: effect, ruleIDs: ruleIDs, reason: reason, revealed: fields)
    }

    public var isPermitted: Bool { effect == .permit }
}
