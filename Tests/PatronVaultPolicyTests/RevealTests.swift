import Foundation
import Testing
@testable import PatronVaultPolicy

/// `reveals:` semantics: the union of what the matching permits reveal, limited to the action's
/// fields; nothing once a forbid matches; nothing from a permit that lists nothing.
@Suite struct RevealTests {
    static let circulation = """
        rule a
          "a"
          permit
          roles: staff
          actions: patron.read, loan.read-open
          when: has context.purpose and context.purpose == "circulation"
          reveals: name, card, open-loans.item

        """

    func names(_ set: PolicySet, _ request: PolicyRequest) -> [String] {
        set.schema.fieldNames(set.decide(request).revealed)
    }

    @Test("the view is the union of the matching permits, limited to what the action shows")
    func unionPerAction() throws {
        let set = try PolicyFixtures.set(Self.circulation + """
            rule b
              "b"
              permit
              roles: staff
              actions: patron.read
              reveals: email.masked

            rule c
              "c: permits without revealing"
              permit
              roles: staff
              actions: loan.read-held

            """)
        let read = PolicyFixtures.request(action: "patron.read", purpose: "circulation")
        #expect(names(set, read) == ["name", "card", "email.masked"])
        #expect(names(set, PolicyFixtures.request(action: "patron.read", purpose: "holds")) == ["email.masked"])
        let loans = PolicyFixtures.request(action: "loan.read-open", kind: "loan", state: "open", purpose: "circulation")
        #expect(names(set, loans) == ["open-loans.item"])
        let held = PolicyFixtures.request(action: "loan.read-held", kind: "loan", state: "held", purpose: "circulation")
        #expect(set.decide(held).isPermitted && set.decide(held).revealed.isEmpty)
    }

    @Test("a forbid wins and reveals nothing, whatever the permits list")
    func forbidRevealsNothing() throws {
        let set = try PolicyFixtures.set(Self.circulation + """
            rule no-staff-s2
              "s2 is suspended"
              forbid
              roles: staff
              actions: any
              when: principal.id == "s2"

            """)
        let decision = set.decide(PolicyFixtures.request(id: "s2", action: "patron.read", purpose: "circulation"))
        #expect(decision.effect == .forbid && decision.revealed.isEmpty)
    }

    @Test("unknown fields, reveals on a forbid, a field none of the rule's actions shows, and bad schema lines are refused where they are written")
    func refusals() throws {
        let unknown = try #require(try PolicyFixtures.loadError(Self.circulation.replacingOccurrences(of: "open-loans.item", with: "shoe-size")))
        #expect(unknown.description.hasPrefix("test.policy:7:"))
        #expect(unknown.description.contains("unknown field shoe-size"))
        let beyond = try #require(try PolicyFixtures.loadError(Self.circulation.replacingOccurrences(of: "patron.read, loan.read-open", with: "patron.read")))
        #expect(beyond.description.contains("cannot reveal open-loans.item"))
        #expect(beyond.description.contains("the schema lists it under loan.read-open"))
        let forbid = try #require(try PolicyFixtures.loadError(Self.circulation.replacingOccurrences(of: "permit", with: "forbid")))
        #expect(forbid.description.contains("a forbid shows nothing"))
        let twice = try #require(try PolicyFixtures.loadError(Self.circulation.replacingOccurrences(of: "card, open", with: "card, card, open")))
        #expect(twice.description.contains("the field card is listed twice"))

        let schema = try PolicyFixtures.schemaText
        #expect(throws: PolicyLoadError.self) { try PolicySchema(name: "s", text: schema + "\nreveals patron.fly: name\n") }
        #expect(throws: PolicyLoadError.self) { try PolicySchema(name: "s", text: schema + "\nreveals patron.read: name\n") }
        let many = (0..<70).map { "f\($0)" }.joined(separator: ", ")
        #expect(throws: PolicyLoadError.self) { try PolicySchema(name: "s", text: schema + "\nreveals audit.read: \(many)\n") }
    }

    @Test("a case's reveals: must match exactly: one field more or less fails it")
    func caseRevealsAreExact() throws {
        let set = try PolicyFixtures.set(Self.circulation)
        func run(_ reveals: String) throws -> Bool {
            let suite = try PolicyTestSuite(schema: set.schema, files: [("t.cases", """
                case circulation
                  principal: role=staff, id=s1
                  action: patron.read
                  resource: kind=registration, patron=p1
                  context: purpose=circulation
                  expect: permit
                  reveals: \(reveals)

                """)])
            return suite.run(against: set).allSatisfy(\.passed)
        }
        #expect(try run("name, card"))
        #expect(try run("card, name"))
        #expect(try !run("name"))
        #expect(try !run("name, card, email"))
        #expect(try !run("nothing"))
        #expect(throws: PolicyLoadError.self) { try run("name, shoe-size") }
        #expect(throws: PolicyLoadError.self) {
            try PolicyTestSuite(schema: set.schema, files: [("f.cases", "case f\n  principal: role=staff\n  action: patron.read\n  resource: kind=registration\n  expect: forbid\n  reveals: name\n")])
        }
    }
}
