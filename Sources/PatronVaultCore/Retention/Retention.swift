import Foundation
import PatronVaultAudit
import PatronVaultPolicy

/// Applies the library's retention schedule (`Policies/retention.schedule`). A dry run counts
/// what each rule would remove; a confirmed run removes it in bounded batches, each its own
/// transaction with its audit entry, its keys destroyed right after it commits, and its progress
/// saved with it, so a run killed at any moment continues where it stopped. Counts only, never who.
public struct Retention: Sendable {
    let gate: Gate
    let lock: URL

    /// Returned loans per batch (history), accounts per batch (erasure): each batch is one
    /// `vault.db` transaction, one `keys.db` transaction and one WAL truncation.
    public static let historyBatch = 2_000
    public static let accountBatch = 100

    /// What each rule would remove now, without removing anything. Recorded as one audit entry.
    public func preview(by principal: Principal) async throws(VaultError) -> RetentionReport {
        let schedule = gate.policies.retention
        let (results, time) = try await gate.write(principal, [AccessRequest(.retentionManage, .retention)], readsOnly: true, readsTrail: true) { tx in
            let today = CalendarDay(tx.time)
            var results: [RetentionRuleResult] = []
            for rule in schedule.rules {
                var result = Self.result(rule, cutoff: today.subtracting(rule.period))
                try Self.count(&result, kind: rule.records, in: tx)
                results.append(result)
            }
            tx.details = ["dry run: " + Self.summary(results, verb: "due")]
            return (results, tx.time)
        }
        return RetentionReport(
            dryRun: true, startedAt: time, finishedAt: time, resumed: false, policyDigest: gate.policies.digest, rules: results,
            keysDestroyed: true, checkpoint: nil)
    }

    static func result(_ rule: RetentionRule, cutoff: CalendarDay) -> RetentionRuleResult {
        RetentionRuleResult(
            rule: rule.id, description: rule.description, kind: rule.records.rawValue, after: rule.period.description, cutoff: cutoff,
            records: 0, patrons: 0, kept: 0)
    }

    /// The dry run's count for one rule, from plaintext columns and the trail (nothing opened).
    static func count(_ result: inout RetentionRuleResult, kind: RetentionRule.Records, in tx: GatedTransaction) throws {
        let records = tx.records
        switch kind {
        case .history:
            (result.records, result.patrons) = try records.dueLoanCount(.closed, onOrBefore: result.cutoff)
        case .heldLoans:
            (result.records, result.patrons) = try records.dueLoanCount(.held, onOrBefore: result.cutoff)
        case .expiredAccounts:
            var cursor: PatronPseudonym?
            while true {
                let batch = try records.expiredPatrons(expiredOnOrBefore: result.cutoff, after: cursor, limit: 500)
                for (row, _) in batch {
                    if let last = try records.lastActivity(of: row.pseudonym), CalendarDay(last) > result.cutoff { continue }
                    if try records.loansKeepingAccount(patron: row.pseudonym) > 0 {
                        result.kept += 1
                        continue
                    }
                    result.patrons += 1
                    result.records += try records.recordCount(patron: row.pseudonym)
                }
                guard let last = batch.last, batch.count == 500 else { break }
                cursor = last.row.pseudonym
            }
        case .signInFailures:
            result.records = try records.signInFailureCount(lastOnOrBefore: result.cutoff, now: tx.time)
            result.patrons = result.records
        case .statistics:
            result.records = try records.monthlyStatisticCount(before: result.cutoff.adding(days: 1).month)
        }
    }

    static func summary(_ results: [RetentionRuleResult], verb: String) -> String {
        results.isEmpty ? "the schedule has no rules" : results.map { result in
            let patrons = result.kind == RetentionRule.Records.statistics.rawValue ? "" : " of \(result.patrons) patron\(result.patrons == 1 ? "" : "s")"
            let kept = result.kept > 0 ? ", \(result.kept) kept" : ""
            return "\(result.rule): \(result.records) record\(result.records == 1 ? "" : "s")\(patrons) \(verb)\(kept)"
        }.joined(separator: "; ")
    }
}
