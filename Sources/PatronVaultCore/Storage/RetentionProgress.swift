import Foundation

/// Where an unfinished retention run stands for one rule, committed with each batch so a run
/// killed at any moment continues, with the same cutoffs, where it stopped.
package struct RetentionProgress: Sendable, Equatable {
    package let rule: String
    /// When the run began: every rule of a run counts from the same day.
    package let startedAt: Date
    package let cutoff: CalendarDay
    /// The last patron whose records were handled; the next batch starts after it.
    package var cursor: PatronPseudonym?
    package var records: Int
    package var patrons: Int
    /// Patrons the rule matched but did not act on as nominated (`RetentionRuleResult.kept`).
    package var kept: Int
    package var done: Bool

    package init(rule: String, startedAt: Date, cutoff: CalendarDay, cursor: PatronPseudonym?, records: Int, patrons: Int, kept: Int, done: Bool) {
        self.rule = rule
        self.startedAt = startedAt
        self.cutoff = cutoff
        self.cursor = cursor
        self.records = records
        self.patrons = patrons
        self.kept = kept
        self.done = done
    }
}
