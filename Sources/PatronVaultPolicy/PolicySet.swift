import Foundation

/// A loaded, checked and precompiled set of rules: the single gate every operation on patron
/// data passes.
///
/// Semantics: deny by default; any matching `forbid` beats every `permit`; rule and file order
/// do not matter; a rule whose condition cannot be evaluated for a request it covers (it reads
/// an attribute the request lacks) counts as a matching `forbid` (fail closed), never as skipped.
public struct PolicySet: Sendable {
    /// The vocabulary the rules were checked against.
    public let schema: PolicySchema
    /// Hex SHA-256 over a canonical encoding of the schema, policy files and retention schedule
    /// (names and contents), so an audit entry can name exactly which rules were in force.
    public let digest: String
    /// How long each kind of record is kept (`retention.schedule`); empty when the folder has
    /// none, and then nothing is purged by age.
    public let retention: RetentionSchedule

    /// Sorted by id, so decisions list rules in the same order however files were given.
    let compiledRules: [PolicyRule]
    private let matchers: [Matcher]
    /// Per action index: the rules whose `actions:` cover it, `actions: any` included.
    private let buckets: [[Int]]
    /// Rules with `actions: any`, for actions the schema does not know.
    private let anyActionRules: [Int]
    /// Per rule: the decision when it alone decides, built once so deciding does not format text.
    private let soloDecisions: [PolicyDecision]
    /// Per action and role index: the deny-by-default decision.
    private let defaultDenials: [[PolicyDecision]]

    /// The part of a rule that deciding touches, kept small and contiguous.
    private struct Matcher: Sendable {
        let anyRole: Bool
        let roleMask: UInt64
        let effect: PolicyEffect
        let condition: Condition?
        let revealed: RevealedFields
    }

    init(schema: PolicySchema, rules: [PolicyRule], digest: String, retention: RetentionSchedule = .empty) {
        let sorted = rules.sorted { $0.id < $1.id }
        self.schema = schema
        self.digest = digest
        self.retention = retention
        self.compiledRules = sorted
        self.matchers = sorted.map { Matcher(anyRole: $0.roles == nil, roleMask: $0.roleMask, effect: $0.effect, condition: $0.condition, revealed: $0.revealed) }
        var buckets = [[Int]](repeating: [], count: schema.actions.count)
        var anyAction: [Int] = []
        for (index, rule) in sorted.enumerated() {
            if let actions = rule.actionIndices {
                for action in actions { buckets[action].append(index) }
            } else {
                anyAction.append(index)
                for action in buckets.indices { buckets[action].append(index) }
            }
        }
        self.buckets = buckets.map { $0.sorted() }
        self.anyActionRules = anyAction
        self.soloDecisions = sorted.map { PolicyDecision(effect: $0.effect, ruleIDs: [$0.id], reason: $0.reason) }
        self.defaultDenials = schema.actions.map { action in
            schema.roles.map { role in Self.defaultDenial(action: action, role: role) }
        }
    }

    private static func defaultDenial(action: String, role: String) -> PolicyDecision {
        PolicyDecision(effect: .forbid, ruleIDs: [], reason: "no rule permits \(action) for role \(role) (deny by default)")
    }

    /// Every rule id, sorted.
    public var ruleIDs: [String] { compiledRules.map(\.id) }

    /// The rules as people read them, sorted by id.
    public var rules: [PolicyRuleSummary] { compiledRules.map(PolicyRuleSummary.init) }

    /// Decides one request. Only rules whose roles and actions cover the request are looked at;
    /// their conditions are evaluated against attributes resolved at load, and the common
    /// outcomes return decisions built at load, so this neither parses nor formats text.
    public func decide(_ request: PolicyRequest) -> PolicyDecision {
        let actionIndex = schema.actionIndex[request.action]
        let roleIndex = schema.roleIndex[request.principalRole]
        let roleBit: UInt64 = roleIndex.map { 1 << UInt64($0) } ?? 0
        let candidates = actionIndex.map { buckets[$0] } ?? anyActionRules

        var forbidCount = 0
        var firstForbid = -1
        var firstForbidMissing: AttributeSlot?
        var permitCount = 0
        var firstPermit = -1
        var revealed: UInt64 = 0
        for index in candidates {
            let matcher = matchers[index]
            guard matcher.anyRole || matcher.roleMask & roleBit != 0 else { continue }
            let outcome = matcher.condition?.evaluate(request) ?? .yes
            switch outcome {
            case .no:
                continue
            case .yes where matcher.effect == .permit:
                if permitCount == 0 { firstPermit = index }
                permitCount += 1
                revealed |= matcher.revealed.bits
            case .yes:
                if forbidCount == 0 { firstForbid = index }
                forbidCount += 1
            case .missing(let slot):
                if forbidCount == 0 {
                    firstForbid = index
                    firstForbidMissing = slot
                }
                forbidCount += 1
            }
        }

        if forbidCount == 1 {
            if let slot = firstForbidMissing {
                let rule = compiledRules[firstForbid]
                return PolicyDecision(effect: .forbid, ruleIDs: [rule.id], reason: rule.failureReason(missing: slot))
            }
            return soloDecisions[firstForbid]
        }
        if forbidCount > 1 { return combined(.forbid, candidates: candidates, roleBit: roleBit, request: request) }
        // What the permits reveal, limited to what this action can show.
        let shown = RevealedFields(bits: revealed).intersection(actionIndex.map { schema.actionFields[$0] } ?? .nothing)
        if permitCount == 1 { return soloDecisions[firstPermit].revealing(shown) }
        if permitCount > 1 { return combined(.permit, candidates: candidates, roleBit: roleBit, request: request).revealing(shown) }
        if let actionIndex, let roleIndex { return defaultDenials[actionIndex][roleIndex] }
        return Self.defaultDenial(action: request.action, role: request.principalRole)
    }

    /// The rare case of several deciding rules: list them all, in id order.
    private func combined(_ effect: PolicyEffect, candidates: [Int], roleBit: UInt64, request: PolicyRequest) -> PolicyDecision {
        var ids: [String] = []
        var reasons: [String] = []
        for index in candidates {
            let matcher = matchers[index]
            guard matcher.anyRole || matcher.roleMask & roleBit != 0 else { continue }
            let rule = compiledRules[index]
            switch (matcher.condition?.evaluate(request) ?? .yes, effect) {
            case (.yes, _) where matcher.effect == effect:
                ids.append(rule.id)
                reasons.append(rule.reason)
            case (.missing(let slot), .forbid):
                ids.append(rule.id)
                reasons.append(rule.failureReason(missing: slot))
            default:
                continue
            }
        }
        return PolicyDecision(effect: effect, ruleIDs: ids, reason: reasons.joined(separator: "; "))
    }
}

/// A rule as a person reads it, for listing and explaining decisions.
public struct PolicyRuleSummary: Sendable, Equatable {
    public let id: String
    public let description: String
    public let effect: PolicyEffect
    /// Role names, or `["any"]`.
    public let roles: [String]
    /// Action names, or `["any"]`.
    public let actions: [String]
    public let hasCondition: Bool
    /// Fields the rule reveals when it permits a read, as written.
    public let reveals: [String]
    /// The purposes its condition requires, when it names them plainly; nil otherwise.
    public let purposes: [String]?
    /// The rule as written in its file.
    public let source: String
    public let file: String
    public let line: Int

    init(_ rule: PolicyRule) {
        id = rule.id
        description = rule.description
        effect = rule.effect
        roles = rule.roles ?? ["any"]
        actions = rule.actions ?? ["any"]
        hasCondition = rule.condition != nil
        reveals = rule.reveals
        purposes = rule.purposes
        source = rule.source
        file = rule.file
        line = rule.line
    }
}
