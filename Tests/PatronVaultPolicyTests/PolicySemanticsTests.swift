import Foundation
import Testing
@testable import PatronVaultPolicy

@Suite struct PolicySemanticsTests {
    private static let rules = """
    rule permit-lookups
      "Staff look patrons up"
      permit
      roles: staff, admin
      actions: patron.read, patron.find

    rule forbid-fines-lookups
      "Nobody looks patrons up about fines"
      forbid
      roles: any
      actions: patron.read
      when: has context.purpose and context.purpose == "fines"

    rule permit-admin-reads
      "Admins read registrations"
      permit
      roles: admin
      actions: patron.read

    rule early-permit
      "Staff may update before June 2025, on the command line"
      permit
      roles: staff
      actions: patron.update
      when: context.time < datetime("2025-06-01T00:00:00+02:00") and context.frontEnd == "cli"

    rule purpose-not-history
      "Purposes other than circulation and holds do not update"
      forbid
      roles: staff
      actions: patron.update
      when: context.purpose not in ["circulation", "holds"]
    """

    @Test func forbidBeatsEveryPermit() throws {
        let set = try PolicyFixtures.set(Self.rules)
        let decision = set.decide(PolicyFixtures.request(role: "admin", action: "patron.read", purpose: "fines"))
        #expect(decision == PolicyDecision(effect: .forbid, ruleIDs: ["forbid-fines-lookups"], reason: "forbidden by forbid-fines-lookups: Nobody looks patrons up about fines"))
        let both = set.decide(PolicyFixtures.request(role: "admin", action: "patron.read", purpose: "holds"))
        #expect(both.effect == .permit && both.ruleIDs == ["permit-admin-reads", "permit-lookups"])
        #expect(both.reason == "permitted by permit-admin-reads: Admins read registrations; permitted by permit-lookups: Staff look patrons up")
    }

    @Test func denyByDefault() throws {
        let set = try PolicyFixtures.set(Self.rules)
        let decision = set.decide(PolicyFixtures.request(role: "patron", action: "patron.read"))
        #expect(decision == PolicyDecision(effect: .forbid, ruleIDs: [], reason: "no rule permits patron.read for role patron (deny by default)"))
        #expect(!set.decide(PolicyFixtures.request(action: "no.such-action")).isPermitted)
        #expect(!set.decide(PolicyFixtures.request(role: "", action: "patron.read")).isPermitted)
    }

    /// A condition that reads a missing attribute makes its rule a matching forbid, whether the
    /// rule is a permit or a forbid; it never fails open and is never skipped.
    @Test func failsClosedOnMissingAttributes() throws {
        let set = try PolicyFixtures.set(Self.rules)
        let update = set.decide(PolicyFixtures.request(action: "patron.update"))
        #expect(update.effect == .forbid && update.ruleIDs == ["purpose-not-history"])
        #expect(update.reason == "purpose-not-history could not be evaluated because the request has no context.purpose, so it counts as a forbid (fail closed)")
        let permitting = try PolicyFixtures.set("""
        rule needs-purpose
          "Lookups for fines"
          permit
          roles: staff
          actions: patron.read
          when: context.purpose == "fines"
        """)
        let missing = permitting.decide(PolicyFixtures.request(action: "patron.read"))
        #expect(missing.effect == .forbid && missing.ruleIDs == ["needs-purpose"])
        #expect(permitting.decide(PolicyFixtures.request(action: "patron.read", purpose: "fines")).isPermitted)
        #expect(permitting.decide(PolicyFixtures.request(action: "patron.read", purpose: "holds")).ruleIDs.isEmpty)
        let outOfScope = permitting.decide(PolicyFixtures.request(role: "patron", action: "patron.read"))
        #expect(outOfScope.ruleIDs.isEmpty, "a rule is not evaluated for roles it does not cover")
    }

    @Test func conditionsCompareDatesAndLists() throws {
        let set = try PolicyFixtures.set(Self.rules)
        let may = Date(timeIntervalSince1970: 1_748_700_000)
        let june = Date(timeIntervalSince1970: 1_748_736_000)
        #expect(set.decide(PolicyFixtures.request(action: "patron.update", purpose: "holds", time: may)).isPermitted)
        #expect(!set.decide(PolicyFixtures.request(action: "patron.update", purpose: "holds", time: june)).isPermitted)
        #expect(!set.decide(PolicyFixtures.request(action: "patron.update", purpose: "holds", time: may, frontEnd: "daemon")).isPermitted)
        #expect(set.decide(PolicyFixtures.request(action: "patron.update", purpose: "fines", time: may)).ruleIDs == ["purpose-not-history"])
    }

    @Test func ruleAndFileOrderDoNotMatter() throws {
        let blocks = Self.rules.components(separatedBy: "\n\n")
        let reference = try PolicyFixtures.set(Self.rules)
        let shipped = try PolicyFixtures.shippedFiles()
        let shippedReference = try PolicyFixtures.set(shipped)
        var generator = SplitMix64(seed: 7)
        let probes = Self.probes(actions: reference.schema.actions)
        for round in 0..<20 {
            let shuffled = blocks.shuffled(using: &generator)
            let split = Int.random(in: 0...shuffled.count, using: &generator)
            let files = [("z\(round).policy", shuffled[..<split].joined(separator: "\n\n")), ("a\(round).policy", shuffled[split...].joined(separator: "\n\n"))]
            let set = try PolicyFixtures.set(files)
            let shippedShuffled = try PolicyFixtures.set(shipped.shuffled(using: &generator))
            for probe in probes {
                #expect(set.decide(probe) == reference.decide(probe))
                #expect(shippedShuffled.decide(probe) == shippedReference.decide(probe))
            }
        }
    }

    static func probes(actions: [String]) -> [PolicyRequest] {
        var probes: [PolicyRequest] = []
        for action in actions {
            for role in ["staff", "admin", "privacy-officer", "patron"] {
                for purpose in [nil, "fines", "holds", "circulation"] {
                    for legalOrder in [false, true] {
                        probes.append(PolicyFixtures.request(role: role, action: action, kind: "history", purpose: purpose, legalOrder: legalOrder))
                        probes.append(PolicyFixtures.request(role: role, id: "p2", action: action, kind: "loan", resourcePatron: nil, state: "closed", purpose: purpose, legalOrder: legalOrder))
                    }
                }
            }
        }
        return probes
    }
}
