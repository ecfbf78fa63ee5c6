extension PolicySet {
    /// The set without one rule, for mutation tests: every rule should matter to some test case.
    /// An unknown id leaves the rules unchanged.
    public func removingRule(_ id: String) -> PolicySet {
        PolicySet(schema: schema, rules: compiledRules.filter { $0.id != id }, digest: Self.digest(of: "\(digest) removing \(id)"), retention: retention)
    }

    /// The set with one rule's effect flipped between permit and forbid, for mutation tests.
    public func invertingRule(_ id: String) -> PolicySet {
        let rules = compiledRules.map { rule in
            guard rule.id == id else { return rule }
            var flipped = rule
            flipped.effect = rule.effect == .permit ? .forbid : .permit
            return flipped
        }
        return PolicySet(schema: schema, rules: rules, digest: Self.digest(of: "\(digest) inverting \(id)"), retention: retention)
    }

    /// A set whose one rule permits every request: the baseline for measuring the gate's cost.
    /// Never load it in production.
    public static func permitEverything() -> PolicySet {
        everything(.permit, id: "permit-everything", description: "every request is permitted (tests and benchmarks only)")
    }

    /// A set whose one rule forbids every request, to prove no operation bypasses the gate.
    public static func forbidEverything() -> PolicySet {
        everything(.forbid, id: "forbid-everything", description: "every request is forbidden")
    }

    private static func everything(_ effect: PolicyEffect, id: String, description: String) -> PolicySet {
        let rule = PolicyRule(
            id: id, description: description, effect: effect, roles: nil, roleMask: 0, actions: nil, actionIndices: nil,
            condition: nil, file: "(built in)", line: 1, column: 1)
        return PolicySet(schema: .empty, rules: [rule], digest: digest(of: "PatronVault built-in policy set: \(id)"))
    }
}
