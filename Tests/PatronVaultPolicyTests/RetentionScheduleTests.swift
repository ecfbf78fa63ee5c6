import Foundation
import Testing
@testable import PatronVaultPolicy

@Suite("Retention schedule")
struct RetentionScheduleTests {
    static func schedule(_ text: String) throws(PolicyLoadError) -> RetentionSchedule {
        try RetentionSchedule(name: "retention.schedule", text: text)
    }

    @Test("the shipped schedule loads with the access policies, one rule per kind, and its text is part of the digest")
    func shipped() throws {
        let set = try PolicySet.load(directory: PolicyFixtures.policiesDirectory)
        #expect(set.retention.rules.map(\.id) == ["kept-history", "settled-fee-loans", "expired-accounts", "sign-in-failures", "monthly-statistics"])
        #expect(set.retention.rule(for: .heldLoans)?.period == RetentionPeriod(count: 90, unit: .days))
        #expect(set.retention.rule(for: .history)?.period == RetentionPeriod(count: 3, unit: .years))
        #expect(set.retention.rule(for: .signInFailures)?.period.description == "30 days")

        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("retention-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: PolicyFixtures.policiesDirectory, to: copy)
        let file = copy.appendingPathComponent(RetentionSchedule.fileName)
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: "after: 3 years", with: "after: 4 years").write(to: file, atomically: true, encoding: .utf8)
        let edited = try PolicySet.load(directory: copy)
        #expect(edited.retention.rule(for: .history)?.period == RetentionPeriod(count: 4, unit: .years))
        #expect(edited.digest != set.digest)

        try FileManager.default.removeItem(at: file)
        let without = try PolicySet.load(directory: copy)
        #expect(without.retention.rules.isEmpty)
        #expect(without.digest != set.digest)

        try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: copy.appendingPathComponent("gone").path)
        #expect(throws: PolicyLoadError.self) { try PolicySet.load(directory: copy) }
    }

    @Test("singular units, comments and any order of the two lines are accepted")
    func forms() throws {
        let schedule = try Self.schedule("""
            # a comment
            retain short-lockouts "Lockouts go after a day"
              after: 1 day   # singular
              records: sign-in-failures
            retain coarse "Months become years after a month"
              records: statistics
              after: 1 month
            """)
        #expect(schedule.rules.map(\.period.description) == ["1 day", "1 month"])
        #expect(schedule.rules.map(\.records) == [.signInFailures, .statistics])
    }

    @Test("bad schedules are refused with file, line, column and a sentence", arguments: [
        ("retain a \"x\"\n  records: loans\n  after: 3 years\n", "retention.schedule:2:12: unknown kind of records \"loans\"; a schedule governs history, held-loans, expired-accounts, sign-in-failures, statistics"),
        ("retain a \"x\"\n  records: history\n  after: -3 years\n", "retention.schedule:3:10: retention rule a has a negative period; give a whole number of days, months or years from 1"),
        ("retain a \"x\"\n  records: history\n  after: 0 days\n", "retention.schedule:3:10: retention rule a has a period of 0 days; the shortest is 1"),
        ("retain a \"x\"\n  records: history\n  after: 101 years\n", "retention.schedule:3:10: retention rule a keeps records for 101 years, more than a hundred years; the most is 100 years"),
        ("retain a \"x\"\n  records: history\n  after: 40000 days\n", "retention.schedule:3:10: retention rule a keeps records for 40000 days, more than a hundred years; the most is 36500 days"),
        ("retain a \"x\"\n  records: history\n  after: 3 weeks\n", "retention.schedule:3:12: expected days, months or years after the number, found \"weeks\""),
        ("retain a \"x\"\n  records: history\n  after: three years\n", "retention.schedule:3:10: expected a whole number such as 3 after \"after:\", found \"three\""),
        ("retain a \"x\"\n  records: history\n", "retention.schedule:1:1: retention rule a gives no period; add a line such as \"after: 3 years\""),
        ("retain a \"x\"\n  after: 3 years\n", "retention.schedule:1:1: retention rule a names no records; add a line such as \"records: history\""),
        ("retain a\n  records: history\n", "retention.schedule:2:3: retention rule a needs a one-line description in quotes, found \"records\""),
        ("retain a \"x\" records: history after: 1 year\nretain b \"y\" records: history after: 2 years\n", "retention.schedule:2:1: rule b governs history, which rule a at retention.schedule:1:1 already governs; keep one"),
        ("retain a \"x\" records: history after: 1 year\nretain a \"y\" records: statistics after: 2 years\n", "retention.schedule:2:1: duplicate rule id a; it is already used at retention.schedule:1:1"),
        ("rule a \"x\"\n", "retention.schedule:1:1: expected \"retain\" to start a retention rule, found \"rule\""),
        ("retain a \"x\" records: history after: 1 year keep: forever\n", "retention.schedule:1:45: expected records:, after: or the next rule, found \"keep\""),
        ("retain a \"x\" records: history records: history after: 1 year\n", "retention.schedule:1:31: retention rule a has two records: lines"),
    ])
    func refused(_ text: String, _ expected: String) {
        #expect(throws: PolicyLoadError.self) { try Self.schedule(text) }
        do {
            _ = try Self.schedule(text)
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("a retention rule may not reuse an access rule's id")
    func idsAreUniqueAcrossFiles() throws {
        let schema = try PolicyFixtures.schemaText
        let policy = "rule same \"x\" permit roles: staff actions: patron.read\n"
        #expect(throws: PolicyLoadError.self) {
            try PolicySet(
                schema: ("schema.pvschema", schema), files: [("a.policy", policy)],
                retention: ("retention.schedule", "retain same \"y\" records: history after: 1 year\n"))
        }
        _ = try PolicySet(
            schema: ("schema.pvschema", schema), files: [("a.policy", policy)],
            retention: ("retention.schedule", "retain other \"y\" records: history after: 1 year\n"))
    }
}
