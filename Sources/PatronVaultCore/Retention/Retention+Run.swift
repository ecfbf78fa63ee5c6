import Foundation
import PatronVaultAudit
import PatronVaultPolicy

extension Retention {
    /// Removes what the schedule says is due. Refused while another run holds the vault's
    /// retention lock, and when the audit trail does not verify (the trail says when accounts
    /// were last used, and must record what the run removes). An unfinished earlier run is
    /// continued first, with its own cutoffs. Writes an audit entry when it starts, one per
    /// batch, and one per rule with the totals at the end, signed into a checkpoint.
    public func run(by principal: Principal, progress: @escaping @Sendable (RetentionProgressEvent) -> Void = { _ in }) async throws(VaultError) -> RetentionReport {
        let held = try RetentionLock(at: lock)
        defer { withExtendedLifetime(held) {} }
        try await verifyTrail(by: principal)
        // The plan holds the schedule's rules in order (`start` sets aside any other).
        let rules = gate.policies.retention.rules
        var (plan, resumed, remaining) = try await start(by: principal)
        let doneBefore = plan.map(\.records)
        var keysDestroyed = true
        for (index, rule) in rules.enumerated() where !plan[index].done {
            // Two files, two cores: while a batch's rows are deleted in vault.db, the keys of the
            // batch before are destroyed in keys.db. A batch's queue entries are cleared in the
            // transaction after its keys are gone (two batches on), never before.
            var shredding: [PendingShred] = []
            var destroyed: [PendingShred] = []
            var candidates = 64
            while !plan[index].done {
                let current = plan
                let clearing = destroyed
                let limit = candidates
                async let keysGone = Self.destroyKeys(shredding, in: gate.storage.keys)
                let batch = try await gate.write(principal, [AccessRequest(.retentionManage, .retention)]) { tx in
                    try tx.records.clearShreds(clearing)
                    return try Self.batch(rule.records, index: index, of: current, candidates: limit, in: &tx)
                }
                candidates = batch.nextCandidates
                // A truncation that met the next batch's key read leaves these queued: the keys
                // are deleted, and the pass at the end of the run truncates the journal.
                let gone = await keysGone
                destroyed = gone ? shredding : []
                shredding = batch.shreds
                plan = batch.plan
                // An erased account's patron key and any record key left under it: one key-store
                // transaction and one WAL truncation for the whole batch.
                if !batch.erased.isEmpty {
                    // False only means the journal met a reader: the truncation at the end covers it.
                    do { _ = try await gate.storage.keys.destroyPatronKeys(batch.erased) } catch { keysDestroyed = false }
                }
                let item = plan[index]
                progress(RetentionProgressEvent(rule: item.rule, done: item.records, expected: max(item.records, remaining[index] + doneBefore[index])))
            }
            if !shredding.isEmpty, (try? await gate.storage.keys.shred(shredding)) == true {
                destroyed += shredding
            }
            if !destroyed.isEmpty { try? await gate.storage.records.clearShreds(destroyed) }
        }
        let finished = plan
        let results = zip(finished, rules).map { item, rule in
            var result = Self.result(rule, cutoff: item.cutoff)
            (result.records, result.patrons, result.kept) = (item.records, item.patrons, item.kept)
            return result
        }
        let (checkpoint, time) = try await gate.write(principal, results.map { _ in AccessRequest(.retentionManage, .retention) }) { tx in
            tx.details = results.map { Self.summary([$0], verb: "removed") }
            try tx.records.saveRetentionProgress([])
            try tx.recordAll(required: true)
            return (try tx.records.signAuditCheckpoint(tx.defaultTrail, at: tx.time), tx.time)
        }
        let residue = (try? await gate.storage.records.purgeResidue()) == true
        // Whatever is still queued (a batch whose truncation met a reader), then the journal.
        let queued = (try? await gate.storage.finishShreds(checking: gate.ring.recordSet)) == true
        // A patron key of an account erased just before an earlier run was killed has no queue
        // entry: the sweep for keys without rows takes it.
        let swept = (try? await gate.storage.sweepOrphanKeys()) != nil
        let truncated = (try? await gate.storage.keys.shred([])) == true
        let keys = queued && swept && truncated
        return RetentionReport(
            dryRun: false, startedAt: finished.first?.startedAt ?? time, finishedAt: time, resumed: resumed, policyDigest: gate.policies.digest,
            rules: results, keysDestroyed: keysDestroyed && residue && keys, checkpoint: checkpoint.text)
    }

    /// Destroys queued shreds' keys; true when there were none or all are gone.
    private static func destroyKeys(_ shreds: [PendingShred], in keys: any KeyStore) async -> Bool {
        shreds.isEmpty ? true : (try? await keys.shred(shreds)) == true
    }

    private func verifyTrail(by principal: Principal) async throws(VaultError) {
        let verifier = AuditVerifier(keys: gate.ring.auditKeys, macKey: gate.ring.auditMACKey, checkpointInterval: gate.trail.checkpointInterval)
        let outcome: Result<AuditVerification, AuditError> = try await gate.read(principal, [AccessRequest(.retentionManage, .retention)]) { reader in
            do {
                return .success(try reader.verifyAudit(with: verifier, against: nil))
            } catch let error as AuditError {
                return .failure(error)
            }
        }
        let problem: String?
        switch outcome {
        case .success(let verification): problem = verification.isIntact ? nil : verification.problem ?? "it is not intact"
        case .failure(let error): problem = error.description
        }
        if let problem {
            throw VaultError(
                .integrityFailure,
                "the audit trail does not verify (\(problem)), so nothing was purged: a run needs a sound trail to know when accounts were last used and to record what it removes")
        }
    }

    /// Continues an unfinished run, or starts one with every rule's cutoff from today, and counts
    /// what each rule has still to remove (for progress), in the transaction that records the
    /// start. The saved
    /// progress is a plain table, so it is believed only when it is exactly the plan the current
    /// schedule gives for its start day, and that day has come: an edited cutoff (which would
    /// let the run remove records early), a rule the schedule no longer has or has with another
    /// period, or a repeated rule discards it, and the run starts afresh from today.
    private func start(by principal: Principal) async throws(VaultError) -> (plan: [RetentionProgress], resumed: Bool, remaining: [Int]) {
        let schedule = gate.policies.retention
        return try await gate.write(principal, [AccessRequest(.retentionManage, .retention)]) { tx in
            let stored = try tx.records.retentionProgress()
            if Self.isPlan(stored, of: schedule, now: tx.time) {
                tx.details = ["retention run resumed: " + Self.cutoffs(stored)]
                return (stored, true, try Self.remaining(stored, of: schedule, in: tx))
            }
            let discarded = stored.isEmpty ? "" : "an unfinished run's saved progress did not match the schedule (changed, or edited) and was set aside; "
            let today = CalendarDay(tx.time)
            let fresh = schedule.rules.map {
                RetentionProgress(rule: $0.id, startedAt: tx.time, cutoff: today.subtracting($0.period), cursor: nil, records: 0, patrons: 0, kept: 0, done: false)
            }
            try tx.records.saveRetentionProgress(fresh)
            tx.details = [discarded + "retention run started: " + (fresh.isEmpty ? "the schedule has no rules" : Self.cutoffs(fresh))]
            return (fresh, false, try Self.remaining(fresh, of: schedule, in: tx))
        }
    }

    /// Whether saved progress is the plan `schedule` makes on its start day: the same rules in
    /// the same order, each cutoff its period before that day, and the day not in the future.
    private static func isPlan(_ stored: [RetentionProgress], of schedule: RetentionSchedule, now: Date) -> Bool {
        guard !stored.isEmpty, stored.count == schedule.rules.count, let started = stored.first?.startedAt, started <= now else { return false }
        let day = CalendarDay(started)
        return zip(stored, schedule.rules).allSatisfy { progress, rule in
            progress.rule == rule.id && progress.startedAt == started && progress.cutoff == day.subtracting(rule.period)
        }
    }

    /// What each rule of `plan` has still to remove, counted as a dry run counts.
    private static func remaining(_ plan: [RetentionProgress], of schedule: RetentionSchedule, in tx: GatedTransaction) throws -> [Int] {
        try zip(plan, schedule.rules).map { item, rule in
            var counted = result(rule, cutoff: item.cutoff)
            try count(&counted, kind: rule.records, in: tx)
            return counted.records
        }
    }

    private static func cutoffs(_ plan: [RetentionProgress]) -> String {
        plan.map { "\($0.rule) up to \($0.cutoff)" }.joined(separator: ", ")
    }

    /// One batch of one rule, inside its transaction; returns the plan with the batch's progress
    /// (saved in the same transaction), the shreds it queued, the accounts it erased, and how
    /// many patrons the next batch should nominate (`candidates` now: counting every nominated
    /// patron's due loans costs as much as reading them, so a batch asks for about as many as
    /// it can take).
    private static func batch(
        _ kind: RetentionRule.Records, index: Int, of plan: [RetentionProgress], candidates limit: Int, in tx: inout GatedTransaction
    ) throws -> (plan: [RetentionProgress], shreds: [PendingShred], erased: [PatronPseudonym], nextCandidates: Int) {
        var item = plan[index]
        let before = item
        var shreds: [PendingShred] = []
        var erased: [PatronPseudonym] = []
        var next = limit
        switch kind {
        case .history, .heldLoans:
            let state: RecordState = kind == .history ? .closed : .held
            let candidates = try tx.records.patronsWithDueLoans(state, onOrBefore: item.cutoff, after: item.cursor, limit: limit)
            // Patrons in pseudonym order while their due loans fit the batch (at least one); their
            // keys are read in one visit to the key store.
            var chosen = 0
            var sum = 0
            while chosen < candidates.count, chosen == 0 || sum + candidates[chosen].due <= historyBatch {
                sum += candidates[chosen].due
                chosen += 1
            }
            let wrapped = try tx.storage.keys.wrappedKeys(patrons: candidates.prefix(chosen).map(\.patron))
            for (patron, due) in candidates.prefix(chosen) {
                // Checked and opened first, with nothing written; only then destroyed, where any
                // failure fails the whole batch.
                if let found = try unchecked({ try tx.dueLoans(state, of: patron, onOrBefore: item.cutoff, wrapped: wrapped[patron]) }) {
                    let destroyed = try found.map { try tx.destroy($0, of: patron) }
                    shreds += destroyed
                    if !destroyed.isEmpty { item.patrons += 1 }
                    if destroyed.count != due { item.kept += 1 }
                } else {
                    item.kept += 1
                }
                item.cursor = patron
            }
            item.records += shreds.count
            item.done = chosen == candidates.count && candidates.count < limit
            // Enough patrons for a full batch at the loans per patron seen, with a margin.
            let perPatron = max(1, sum / max(1, chosen))
            next = min(1_000, max(16, historyBatch / perPatron + historyBatch / perPatron / 4 + 1))
        case .expiredAccounts:
            let candidates = try tx.records.expiredPatrons(expiredOnOrBefore: item.cutoff, after: item.cursor, limit: accountBatch)
            for (row, expires) in candidates {
                item.cursor = row.pseudonym
                let cutoff = item.cutoff
                let erasure = try isolated(in: tx) { () throws -> (records: Int, history: Int, shreds: [PendingShred])? in
                    guard try tx.accountIsDue(row, expires: expires, cutoff: cutoff) else { return nil }
                    return try tx.erase(row)
                }
                switch erasure {
                case .some(.some(let erasure)):
                    erased.append(row.pseudonym)
                    shreds += erasure.shreds
                    item.patrons += 1
                    item.records += erasure.records
                case .some(.none):
                    break
                case .none:
                    item.kept += 1
                }
            }
            item.done = candidates.count < accountBatch
        case .signInFailures:
            item.records = try tx.records.forgetSignInFailures(lastOnOrBefore: item.cutoff, now: tx.time)
            item.patrons = item.records
            item.done = true
        case .statistics:
            item.records = try tx.records.coarsenStatistics(before: item.cutoff.adding(days: 1).month)
            item.done = true
        }
        var updated = plan
        updated[index] = item
        try tx.records.saveRetentionProgress(updated)
        let change = RetentionRuleResult(
            rule: item.rule, description: "", kind: kind.rawValue, after: "", cutoff: item.cutoff, records: item.records - before.records,
            patrons: item.patrons - before.patrons, kept: item.kept - before.kept)
        tx.details = ["batch: " + summary([change], verb: "removed")]
        return (updated, shreds, erased, next)
    }

    /// Like `isolated` for work that only reads (so needs no savepoint): a patron whose rows fail
    /// their record-set check is left as it was (nil).
    private static func unchecked<T>(_ body: () throws -> T) throws -> T? {
        do {
            return try body()
        } catch let error as VaultError where error.kind == .integrityFailure || error.kind == .corruptVault {
            return nil
        }
    }

    /// Runs one patron's work in a savepoint: an account with a loan out, or a patron whose rows
    /// fail their record-set check or whose sealed dates contradict the plaintext, is left as it
    /// was (nil) and the batch goes on; any other failure fails the batch.
    private static func isolated<T>(in tx: GatedTransaction, _ body: () throws -> T) throws -> T? {
        do {
            return try tx.records.undoable(body)
        } catch let error as VaultError where error.kind == .conflict || error.kind == .integrityFailure || error.kind == .corruptVault {
            return nil
        }
    }
}
