import Foundation
import Testing

/// The policy engine's acceptance path through the CLI.
@Suite("Policies through the CLI")
struct PolicyTests {
    @Test("the shipped policy tests pass")
    func shippedTestsPass() throws {
        let cli = try CLI()
        defer { cli.removeHome() }
        let result = try cli.run(["policy", "test"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(" passed, 0 failed"))
        #expect(!result.stdout.contains("FAIL"))
        let check = try cli.run(["policy", "check", "--json"])
        #expect(check.status == 0)
        #expect((check.json["digest"] as? String)?.count == 64)
    }

    @Test("staff are refused a patron's history with the rule and reason; the patron gets it with their PIN")
    func historyOnlyForThePatron() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "PVH1", "--name", "Mira Holt", "--email", "m@example.org", "--history", "keep", "--pin-stdin"], stdin: "1357").status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "PVH1", "--item", "IT-H1", "--title", "Private Reading"]).status == 0)
        #expect(try cli.run(["loan", "return", "--item", "IT-H1"]).status == 0)

        let denied = try cli.run(["patron", "history", "PVH1", "--purpose", "circulation"])
        #expect(denied.status == 70)
        #expect(denied.stderr.contains("history-only-for-the-patron"))
        #expect(denied.stderr.contains("never see a patron's reading history"))
        #expect(!denied.stdout.contains("Private Reading"))

        let own = try cli.run(["me", "history", "--card", "PVH1", "--pin-stdin"], stdin: "1357")
        #expect(own.status == 0, "\(own.stderr)")
        #expect(own.stdout.contains("Private Reading"))
    }

    @Test("a staff lookup needs a purpose from the list")
    func lookupNeedsPurpose() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "PVP1", "--name", "Noor Patel", "--email", "n@example.org"]).status == 0)
        let without = try cli.run(["patron", "show", "PVP1"])
        #expect(without.status == 70)
        #expect(without.stderr.contains("staff-lookup-needs-purpose"))
        let unlisted = try cli.run(["patron", "show", "PVP1", "--purpose", "curiosity"])
        #expect(unlisted.status == 70)
        let with = try cli.run(["patron", "show", "PVP1", "--purpose", "circulation"])
        #expect(with.status == 0, "\(with.stderr)")
        #expect(with.stdout.contains("Noor Patel"))
    }

    @Test("a policy naming an unknown attribute stops patronvault at file:line:column")
    func unknownAttributeStops() throws {
        var cli = try CLI.initialized()
        defer { cli.removeHome() }
        let copy = cli.home.appendingPathComponent("policies")
        try FileManager.default.copyItem(at: CLI.policies, to: copy)
        let rule = """

            rule moody-staff
              "Staff may read when in a good mood"
              permit
              roles: staff
              actions: patron.read
              when: context.mood == "good"

            """
        let file = copy.appendingPathComponent("staff-lookups.policy")
        let original = try String(contentsOf: file, encoding: .utf8)
        try (original + rule).write(to: file, atomically: true, encoding: .utf8)
        let line = original.split(separator: "\n", omittingEmptySubsequences: false).count + 6
        cli.environment["PATRONVAULT_POLICIES"] = copy.path
        let stopped = try cli.run(["stats"])
        #expect(stopped.status == 78)
        #expect(stopped.stderr.hasPrefix("patronvault: invalid policy: staff-lookups.policy:\(line):"), "\(stopped.stderr)")
        #expect(stopped.stderr.contains("context.mood"))
        let check = try cli.run(["policy", "check"])
        #expect(check.status == 78)
    }

    @Test("explain shows the deciding rule")
    func explain() throws {
        let cli = try CLI()
        defer { cli.removeHome() }
        let result = try cli.run(["policy", "explain", "--principal", "role=staff,id=s1", "--action", "history.read", "--resource", "kind=history,patron=p1,state=closed", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json["effect"] as? String == "forbid")
        #expect((result.json["rules"] as? [String]) == ["history-only-for-the-patron"])
    }
}
