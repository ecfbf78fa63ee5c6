import Foundation
import PatronVaultPolicy

/// What the rules in force decide for a request someone describes, and why: the effect, the
/// deciding rules, the reason, the fields a permitted read would show, and the digest of the
/// rule set, which audit entries carry too.
public struct PolicyExplanation: Sendable, Codable, Equatable {
    public let effect: String
    public let rules: [String]
    public let reason: String
    /// Field names, in the schema's order; empty for a forbid or a permit that reveals nothing.
    public let reveals: [String]
    public let digest: String

    public init(_ decision: PolicyDecision, in set: PolicySet) {
        effect = decision.effect.rawValue
        rules = decision.ruleIDs
        reason = decision.reason
        reveals = set.schema.fieldNames(decision.revealed)
        digest = set.digest
    }
}

extension Oversight {
    /// Decides a request described in `policy explain`'s `key=value` text under the rules this
    /// vault enforces (a daemon's own set, not whatever folder a client holds), without reading
    /// a record; asking is recorded like every access.
    public func explainPolicy(
        principal who: String, action: String, resource: String, context: String, by principal: Principal
    ) async throws(VaultError) -> PolicyExplanation {
        let set = gate.policies
        let request: PolicyRequest
        do {
            request = try PolicyRequest.parse(principal: who, action: action, resource: resource, context: context, schema: set.schema, defaultTime: gate.clock.now())
        } catch {
            throw VaultError.invalid(error.description)
        }
        let decision = set.decide(request)
        let explanation = PolicyExplanation(decision, in: set)
        return try await gate.write(principal, [AccessRequest(.policyRead, .policy)], readsOnly: true) { _ in explanation }
    }
}
