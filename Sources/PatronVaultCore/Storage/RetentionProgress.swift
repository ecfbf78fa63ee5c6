import Foundation

/// Where an unfinished retention run stands for one rule, committed with each batch so a run
/// killed at any moment continues, with the same cutoffs, where it stopped.
struct RetentionProgress: Sendable, Equatable {
    let rule: String
    /// When the run began: every rule of a run counts from the same day.
    let startedAt: Date
    let cutoff: CalendarDay
    /// The last patron whose records were handled; the next batch starts after it.
    var cursor: PatronPseudonym?
    var records: Int
    var patrons: Int
    /// Patrons the rule matched but did not act on as nominated (`RetentionRuleResult.kept`).
    var kept: Int
    var done: Bool
}
