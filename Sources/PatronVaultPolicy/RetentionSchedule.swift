import Foundation

/// The library's retention schedule, `retention.schedule` beside the access policies: readable
/// rules saying how long each kind of record is kept. At most one rule per kind of record; a
/// kind without a rule is kept until a person removes it (the patron, or an erasure).
///
/// ```
/// retain <id>
///   "<one-line description>"
///   records: history | expired-accounts | sign-in-failures | statistics
///   after: <number> days | months | years
/// ```
public struct RetentionSchedule: Sendable {
    public static let fileName = "retention.schedule"

    public let rules: [RetentionRule]

    public static let empty = RetentionSchedule(rules: [])

    init(rules: [RetentionRule]) {
        self.rules = rules
    }

    /// Parses a schedule file, refusing unknown kinds and units, a period that is not a whole
    /// number from 1 to a hundred years, two rules for one kind, and duplicate ids, each with
    /// `file:line:column`.
    public init(name: String, text: String) throws(PolicyLoadError) {
        try self.init(source: PolicySource(name: name, text: text))
    }

    init(source: PolicySource) throws(PolicyLoadError) {
        rules = try RetentionParser.rules(in: source)
    }

    /// The rule for a kind of record, if the schedule has one.
    public func rule(for records: RetentionRule.Records) -> RetentionRule? {
        rules.first { $0.records == records }
    }
}
