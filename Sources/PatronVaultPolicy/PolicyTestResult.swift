/// The outcome of one policy test case, with enough to show a privacy officer where the case
/// is and what went differently.
public struct PolicyTestResult: Sendable {
    public let file: String
    public let line: Int
    public let name: String
    public let expected: PolicyEffect
    /// Rules the case says must be among the deciding rules (`expect: forbid by x`); empty when
    /// the case names none.
    public let expectedRuleIDs: [String]
    /// True for `expect: forbid by default`: no rule may match at all.
    public let expectsDefaultDenial: Bool
    /// The exact fields the case says the decision reveals (`reveals:`), or nil when it says
    /// nothing about them.
    public let expectedReveals: [String]?
    public let actual: PolicyDecision
    /// The names of the fields the decision reveals.
    public let actualReveals: [String]

    init(
        file: String, line: Int, name: String, expected: PolicyEffect, expectedRuleIDs: [String], expectsDefaultDenial: Bool,
        expectedReveals: [String]?, actual: PolicyDecision, schema: PolicySchema
    ) {
        self.file = file
        self.line = line
        self.name = name
        self.expected = expected
        self.expectedRuleIDs = expectedRuleIDs
        self.expectsDefaultDenial = expectsDefaultDenial
        self.expectedReveals = expectedReveals
        self.actual = actual
        actualReveals = schema.fieldNames(actual.revealed)
    }

    public var passed: Bool {
        guard actual.effect == expected else { return false }
        if let expectedReveals, Set(expectedReveals) != Set(actualReveals) { return false }
        if expectsDefaultDenial { return actual.ruleIDs.isEmpty }
        return expectedRuleIDs.allSatisfy(actual.ruleIDs.contains)
    }

    /// `file:line: name: passed`, or what was expected and what happened instead.
    public var summary: String {
        let location = "\(file):\(line): \(name)"
        if passed { return "\(location): passed" }
        var wanted = expected.rawValue
        if expectsDefaultDenial {
            wanted += " by default"
        } else if !expectedRuleIDs.isEmpty {
            wanted += " by \(expectedRuleIDs.joined(separator: ", "))"
        }
        var got = actual.ruleIDs.isEmpty ? actual.effect.rawValue : "\(actual.effect.rawValue) by \(actual.ruleIDs.joined(separator: ", "))"
        if let expectedReveals {
            wanted += " revealing \(Self.list(expectedReveals))"
            got += " revealing \(Self.list(actualReveals))"
        }
        return "\(location): expected \(wanted), got \(got) (\(actual.reason))"
    }

    private static func list(_ fields: [String]) -> String { fields.isEmpty ? "nothing" : fields.joined(separator: ", ") }
}
