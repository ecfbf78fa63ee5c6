import Foundation
import Testing
@testable import PatronVaultPolicy

@Suite struct ShippedPolicyTests {
    @Test func shippedSetLoadsAndEveryShippedCasePasses() throws {
        let set = try PolicyFixtures.shipped()
        let suite = try PolicyFixtures.shippedSuite(for: set)
        #expect(set.ruleIDs.count >= 10)
        #expect(suite.count >= 50)
        for result in suite.run(against: set) {
            #expect(result.passed, "\(result.summary)")
        }
    }

    /// Every rule decides some case, and some other case inside its roles and actions goes
    /// the other way, so each rule is seen with both outcomes.
    @Test func shippedCasesCoverEveryRuleBothWays() throws {
        let set = try PolicyFixtures.shipped()
        let suite = try PolicyFixtures.shippedSuite(for: set)
        let results = suite.run(against: set)
        for rule in set.compiledRules {
            let decided = results.contains { $0.actual.ruleIDs.contains(rule.id) }
            let inScopeButNotDeciding = zip(suite.cases, results).contains { item, result in
                let roleBit: UInt64 = set.schema.roleIndex[item.request.principalRole].map { 1 << UInt64($0) } ?? 0
                let actionCovered = rule.actions?.contains(item.request.action) ?? true
                return rule.covers(roleBit: roleBit) && actionCovered && !result.actual.ruleIDs.contains(rule.id)
            }
            #expect(decided, "no shipped case is decided by \(rule.id)")
            #expect(inScopeButNotDeciding || rule.condition == nil, "no shipped case inside \(rule.id)'s scope goes the other way")
        }
    }

    @Test func removingOrInvertingAnyRuleBreaksAShippedCase() throws {
        let set = try PolicyFixtures.shipped()
        let suite = try PolicyFixtures.shippedSuite(for: set)
        for id in set.ruleIDs {
            let removed = suite.run(against: set.removingRule(id)).filter { !$0.passed }
            let inverted = suite.run(against: set.invertingRule(id)).filter { !$0.passed }
            #expect(!removed.isEmpty, "removing \(id) breaks no case")
            #expect(!inverted.isEmpty, "inverting \(id) breaks no case")
        }
    }

    @Test func digestIsStableAndTracksContent() throws {
        let first = try PolicyFixtures.shipped()
        let second = try PolicyFixtures.shipped()
        #expect(first.digest == second.digest)
        #expect(first.digest.count == 64)
        #expect(first.digest.allSatisfy { "0123456789abcdef".contains($0) })
        var files = try PolicyFixtures.shippedFiles()
        let retention = try PolicyFixtures.shippedRetention
        let reordered = try PolicyFixtures.set(files.reversed(), retention: retention)
        #expect(reordered.digest == first.digest)
        #expect(try PolicyFixtures.set(files).digest != first.digest, "the retention schedule is part of the digest")
        files[0].text += "\n# a comment changes the digest\n"
        #expect(try PolicyFixtures.set(files, retention: retention).digest != first.digest)
        #expect(first.removingRule("staff-circulation").digest != first.digest)
        #expect(first.invertingRule("staff-circulation").digest != first.digest)
    }

    @Test func keyPromisesHold() throws {
        let set = try PolicyFixtures.shipped()
        for role in ["staff", "admin", "privacy-officer"] {
            for action in ["history.read", "export.read", "audit.read-own"] {
                let decision = set.decide(PolicyFixtures.request(role: role, action: action, kind: "history", purpose: "circulation"))
                #expect(!decision.isPermitted, "\(role) \(action)")
            }
        }
        let other = set.decide(PolicyFixtures.request(role: "patron", id: "p2", action: "history.read", kind: "history"))
        #expect(other.ruleIDs == ["no-disclosure-to-other-patrons"])
        let own = set.decide(PolicyFixtures.request(role: "patron", id: "p1", action: "history.read", kind: "history"))
        #expect(own == PolicyDecision(effect: .permit, ruleIDs: ["patron-own-data"], reason: own.reason))
        let noPurpose = set.decide(PolicyFixtures.request(action: "patron.read"))
        #expect(noPurpose.reason == "forbidden by staff-lookup-needs-purpose: Staff lookups need a stated purpose")
        let unknownRole = set.decide(PolicyFixtures.request(role: "volunteer", action: "history.read"))
        #expect(unknownRole.effect == .forbid && unknownRole.ruleIDs.isEmpty)
        let staffHistory = set.decide(PolicyFixtures.request(action: "keys.manage", kind: "keys", resourcePatron: nil))
        #expect(staffHistory.reason == "no rule permits keys.manage for role staff (deny by default)")
    }

    @Test func builtInSetsPermitOrForbidEverything() throws {
        let shipped = try PolicyFixtures.shipped()
        let everyone = PolicySet.permitEverything()
        let nobody = PolicySet.forbidEverything()
        for action in shipped.schema.actions + ["no.such-action"] {
            for role in shipped.schema.roles + ["stranger"] {
                let request = PolicyFixtures.request(role: role, action: action)
                #expect(everyone.decide(request).isPermitted)
                #expect(!nobody.decide(request).isPermitted)
            }
        }
        #expect(everyone.digest != nobody.digest)
    }

    @Test func explainParsesRequestsAgainstTheSchema() throws {
        let schema = try PolicyFixtures.shipped().schema
        let request = try PolicyRequest.parse(
            principal: "role=staff,id=s1", action: "history.read", resource: "kind=history, patron=p1, state=closed",
            context: "purpose=circulation, legalOrder=true, time=2025-06-01T09:00:00Z", schema: schema)
        #expect(request.principalKind == "staff" && request.principalPatron == nil)
        #expect(request.resourceState == "closed" && request.legalOrder && request.purpose == "circulation")
        #expect(request.time.timeIntervalSince1970 == 1_748_768_400)
        let patron = try PolicyRequest.parse(principal: "role=patron, id=ab12", action: "export.read", resource: "kind=export,patron=ab12", schema: schema)
        #expect(patron.principalKind == "patron" && patron.principalPatron == "ab12" && patron.frontEnd == "cli")

        #expect(throws: PolicyRequestError(part: "principal", message: "unknown key rol; known keys are kind, role, id, patron", offset: 0)) {
            try PolicyRequest.parse(principal: "rol=staff", action: "patron.read", resource: "kind=registration", schema: schema)
        }
        #expect(throws: PolicyRequestError.self) {
            try PolicyRequest.parse(principal: "role=staff,id=s1", action: "history.raed", resource: "kind=history", schema: schema)
        }
        #expect(throws: PolicyRequestError.self) {
            try PolicyRequest.parse(principal: "role=staff,id=s1", action: "history.read", resource: "kind=history", context: "legalOrder=maybe", schema: schema)
        }
        #expect(throws: PolicyRequestError.self) {
            try PolicyRequest.parse(principal: "role=staff,id=s1,patron=p1", action: "history.read", resource: "kind=history", schema: schema)
        }
        do {
            _ = try PolicyRequest.parse(principal: "role=staff,id=s1", action: "loan.read-open", resource: "kind=loan, state=lost", schema: schema)
            Issue.record("an unknown loan state was accepted")
        } catch {
            #expect(error.description == "resource: unknown loan-state lost; expected one of open, held, closed")
            #expect(error.offset == 17)
        }
    }

    @Test func caseFileErrorsPointAtTheText() throws {
        let schema = try PolicyFixtures.shipped().schema
        let text = """
        case a
          principal: role=staff, id=s1
          action: patron.read
          resource: kind=registration, colour=red
          expect: permit
        """
        #expect(throws: PolicyLoadError.self) { try PolicyTestSuite(schema: schema, files: [("x.cases", text)]) }
        do {
            _ = try PolicyTestSuite(schema: schema, files: [("x.cases", text)])
        } catch {
            #expect(error.description.hasPrefix("x.cases:4:32: resource: unknown key colour"))
        }
        do {
            _ = try PolicyTestSuite(schema: schema, files: [("y.cases", "case b\n  principal: role=staff, id=s1\n  action: patron.read\n  resource: kind=registration\n  expect: allow\n")])
        } catch {
            #expect(error.description == "y.cases:5:11: expect: must start with permit or forbid")
        }
    }
}
