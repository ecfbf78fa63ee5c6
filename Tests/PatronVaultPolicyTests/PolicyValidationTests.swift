import Testing
@testable import PatronVaultPolicy

/// Every kind of mistake is refused at load with `file:line:column: message`.
@Suite struct PolicyValidationTests {
    private func rule(when condition: String? = nil, roles: String = "staff", actions: String = "patron.read") -> String {
        var text = "rule r1\n  \"a rule\"\n  permit\n  roles: \(roles)\n  actions: \(actions)\n"
        if let condition { text += "  when: \(condition)\n" }
        return text
    }

    private func expectError(_ policy: String, _ prefix: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = try PolicyFixtures.loadError(policy)
        #expect(error?.description.hasPrefix(prefix) == true, "got \(error?.description ?? "no error")", sourceLocation: sourceLocation)
    }

    @Test func unknownAttribute() throws {
        try expectError(rule(when: "context.purpse == \"fines\""), "test.policy:6:9: unknown attribute context.purpse")
        try expectError(rule(when: "context.purpose == fines"), "test.policy:6:28: unknown attribute fines; write text in quotes")
    }

    @Test func unknownActionAndRole() throws {
        try expectError(rule(actions: "patron.read, history.raed"), "test.policy:5:25: unknown action history.raed")
        try expectError(rule(roles: "staff, librarian"), "test.policy:4:17: unknown role librarian")
    }

    @Test func typeMismatches() throws {
        try expectError(rule(when: "context.time == \"2025-06-01\""), "test.policy:6:22: type mismatch: cannot compare context.time (a date and time) with \"2025-06-01\" (text)")
        try expectError(rule(when: "context.purpose < date(\"2025-06-01\")"), "test.policy:6:25: type mismatch")
        try expectError(rule(when: "context.consent == 1"), "test.policy:6:25: type mismatch: cannot compare context.consent (true/false) with 1 (a number)")
        try expectError(rule(when: "principal.id == context.legalOrder"), "test.policy:6:22: type mismatch")
        try expectError(rule(when: "context.purpose in [\"fines\", 3]"), "test.policy:6:38: type mismatch")
        try expectError(rule(when: "context.purpose == \"circulaton\""), "test.policy:6:28: \"circulaton\" is not a purpose")
        try expectError(rule(when: "principal.id < \"m\""), "test.policy:6:22: < orders numbers and dates, not text")
        try expectError(rule(when: "context.purpose"), "test.policy:6:9: context.purpose is a purpose, not a condition")
        try expectError(rule(when: "has context.purpose == true"), "test.policy:6:9: == compares attributes and values, not conditions")
    }

    @Test func duplicateRuleIDAcrossFiles() throws {
        let schema = try PolicyFixtures.schemaText
        do {
            _ = try PolicySet(schema: ("schema.pvschema", schema), files: [("b.policy", "\n" + rule()), ("a.policy", rule())])
            Issue.record("a duplicate id loaded")
        } catch {
            #expect(error.description == "b.policy:2:1: duplicate rule id r1; it is already used at a.policy:1:1")
        }
    }

    @Test func syntaxErrors() throws {
        try expectError("rule r1\n  \"a rule\"\n  roles: staff\n", "test.policy:3:3: rule r1 needs an effect, permit or forbid")
        try expectError("rule r1\n  permit\n", "test.policy:2:3: rule r1 needs a one-line description in quotes")
        try expectError("rule r1 \"d\" permit roles: staff\n", "test.policy:1:1: rule r1 names no actions")
        try expectError(rule(when: "(has context.purpose"), "test.policy:7:1: expected \")\" to close the \"(\" at 6:9")
        try expectError(rule(when: "context.purpose = \"fines\""), "test.policy:6:25: a single \"=\" is not an operator")
        try expectError(rule(when: "context.consent and"), "test.policy:7:1: expected an attribute or a value, found the end of the file")
        try expectError(rule() + "  colour: red\n", "test.policy:6:3: expected roles:, actions:, when:, reveals: or the next rule")
        try expectError("permit everything\n", "test.policy:1:1: expected \"rule\" to start a rule")
        try expectError(rule(when: "context.time < date(\"2025-02-30\")"), "test.policy:6:29: \"2025-02-30\" is not a valid date")
        try expectError(rule(when: "\"unclosed"), "test.policy:6:9: this quoted text is not closed on its line")
        try expectError(rule(roles: "any, staff"), "test.policy:4:13: \"any\" already covers every role")
        try expectError(rule() + "  roles: admin\n", "test.policy:6:3: rule r1 has two roles: lines")
    }

    @Test func schemaErrors() throws {
        func schemaError(_ text: String) -> String {
            do {
                _ = try PolicySchema(name: "s.pvschema", text: text)
                return "no error"
            } catch {
                return error.description
            }
        }
        let base = "enum action: a.b\nenum role: r\nenum resource-kind: k\n"
        #expect(schemaError(base + "attribute context.colour: string\n").hasPrefix("s.pvschema:4:11: requests carry no attribute context.colour"))
        #expect(schemaError(base + "attribute context.purpose: string\n").hasPrefix("s.pvschema:4:28: requests may leave out context.purpose, so declare it optional"))
        #expect(schemaError(base + "attribute context.time: string\n").hasPrefix("s.pvschema:4:25: context.time cannot be string"))
        #expect(schemaError(base + "attribute context.time: datetme\n").hasPrefix("s.pvschema:4:25: unknown type datetme"))
        #expect(schemaError("enum role: r\n").hasPrefix("s.pvschema:2:1: the schema must declare enum action"))
        #expect(schemaError(base + "enum role: x\n").hasPrefix("s.pvschema:4:6: the enumeration role is declared twice"))
        #expect(schemaError(base + "enum purpose: a, b, a\n").hasPrefix("s.pvschema:4:21: purpose lists a twice"))
    }
}
