import Foundation
import GRDB

/// Retention's queries. Plaintext day columns only choose candidates; the sealed records, the
/// record sets and the audit trail decide (`GatedTransaction+Retention`).
extension SQLiteRecordTransaction {
    /// The partial index and the day column a state's due loans are found by.
    private static func dueLoans(_ state: RecordState) -> (index: String, day: String) {
        state == .held ? ("record_settled", "settled_day") : ("record_closed", "closed_day")
    }

    func dueLoanCount(_ state: RecordState, onOrBefore day: CalendarDay) throws -> (records: Int, patrons: Int) {
        let (_, column) = Self.dueLoans(state)
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT count(*), count(DISTINCT patron) FROM record WHERE state = \(state.rawValue) AND kind = ? AND \(column) <= ?"),
            arguments: [RecordKind.loan.rawValue, day.daysSinceEpoch])
        return (row?[0] ?? 0, row?[1] ?? 0)
    }

    func patronsWithDueLoans(_ state: RecordState, onOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(patron: PatronPseudonym, due: Int)] {
        // The state is written into the text: the planner uses the partial index only when it
        // can see the query's state is the index's.
        let (index, column) = Self.dueLoans(state)
        let query = RawStatement(try db.cachedStatement(sql: """
            SELECT patron, count(*) FROM record INDEXED BY \(index)
            WHERE state = \(state.rawValue) AND kind = ? AND \(column) <= ? AND patron > ?
            GROUP BY patron ORDER BY patron LIMIT ?
            """), in: db)
        defer { query.reset() }
        query.bind(1, RecordKind.loan.rawValue)
        query.bind(2, day.daysSinceEpoch)
        query.bind(3, cursor?.bytes ?? [])
        query.bind(4, Int64(limit))
        var found: [(PatronPseudonym, Int)] = []
        while try query.step() { found.append((PatronPseudonym(bytes: query.bytes(0)), Int(query.int64(1)))) }
        return found
    }

    func expiredPatrons(expiredOnOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(row: PatronRow, expires: CalendarDay)] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT \(Self.patronColumns), expires_day FROM patron
                WHERE expires_day IS NOT NULL AND expires_day <= ? AND pseudonym > ? ORDER BY pseudonym LIMIT ?
                """),
            arguments: [day.daysSinceEpoch, Data(cursor?.bytes ?? []), limit]
        ).map { (Self.patronRow($0), CalendarDay(daysSinceEpoch: $0[3])) }
    }

    func recordCount(patron: PatronPseudonym) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM record WHERE patron = ?"), arguments: [Data(patron.bytes)]) ?? 0
    }

    func loansKeepingAccount(patron: PatronPseudonym) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM record WHERE patron = ? AND kind = ? AND (state = ? OR (state = ? AND settled_day IS NULL))"),
            arguments: [Data(patron.bytes), RecordKind.loan.rawValue, RecordState.open.rawValue, RecordState.held.rawValue]) ?? 0
    }

    /// The time of the latest permitted audit entry about or by the patron: the trail, which
    /// the run verified first, says when the account was last used, not an editable column.
    func lastActivity(of patron: PatronPseudonym) throws -> Date? {
        let id = patron.description
        let micros = try Int64.fetchOne(
            db.cachedStatement(sql: """
                SELECT max(time) FROM (
                    SELECT max(time) AS time FROM audit_entry WHERE patron = ? AND decision = 'permit'
                    UNION ALL SELECT max(time) FROM audit_entry WHERE principal_id = ? AND decision = 'permit')
                """),
            arguments: [id, id])
        return micros.map { Date(timeIntervalSince1970: Double($0) / 1_000_000) }
    }

    /// Rows without a day predate the column; they count as old. A lockout still running at
    /// `now` is never forgotten, however old its last failure.
    func signInFailureCount(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM pin_attempt WHERE \(Self.forgettable)"), arguments: [day.daysSinceEpoch, Self.millis(now)]) ?? 0
    }

    func forgetSignInFailures(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM pin_attempt WHERE \(Self.forgettable)").execute(arguments: [day.daysSinceEpoch, Self.millis(now)])
        return db.changesCount
    }

    private static let forgettable = "coalesce(last_failure_day, 0) <= ? AND (locked_until IS NULL OR locked_until <= ?)"

    /// Monthly rows (`YYYY-MM`) of months before `month`.
    func monthlyStatisticCount(before month: String) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM circulation_stat WHERE length(month) = 7 AND month < ?"), arguments: [month]) ?? 0
    }

    /// Adds the monthly rows of months before `month` into their year's row (`YYYY`) and removes
    /// them; returns how many monthly rows went.
    func coarsenStatistics(before month: String) throws -> Int {
        try db.cachedStatement(sql: """
            INSERT INTO circulation_stat(item_barcode, branch, month, returns)
            SELECT item_barcode, branch, substr(month, 1, 4), sum(returns) FROM circulation_stat
            WHERE length(month) = 7 AND month < ? GROUP BY item_barcode, branch, substr(month, 1, 4)
            ON CONFLICT(item_barcode, branch, month) DO UPDATE SET returns = returns + excluded.returns
            """).execute(arguments: [month])
        try db.cachedStatement(sql: "DELETE FROM circulation_stat WHERE length(month) = 7 AND month < ?").execute(arguments: [month])
        return db.changesCount
    }

    func clearShreds(_ done: [PendingShred]) throws {
        let delete = RawStatement(try db.cachedStatement(sql: "DELETE FROM pending_shred WHERE record_id = ? AND version = ?"), in: db)
        // In key order, so the queue's B-tree is walked front to back.
        for shred in done.sorted(by: { $0.record.bytes.lexicographicallyPrecedes($1.record.bytes) }) {
            delete.bind(1, shred.record.bytes)
            delete.bind(2, shred.version)
            try delete.execute()
        }
    }

    func retentionProgress() throws -> [RetentionProgress] {
        try Row.fetchAll(db, sql: "SELECT rule, started_at, cutoff_day, cursor, records, patrons, kept, done FROM retention_progress ORDER BY position").map {
            RetentionProgress(
                rule: $0[0], startedAt: Self.date(millis: $0[1]), cutoff: CalendarDay(daysSinceEpoch: $0[2]),
                cursor: ($0[3] as Data?).map { PatronPseudonym(bytes: Array($0)) }, records: $0[4], patrons: $0[5], kept: $0[6], done: $0[7])
        }
    }

    func saveRetentionProgress(_ progress: [RetentionProgress]) throws {
        try db.execute(sql: "DELETE FROM retention_progress")
        for (position, rule) in progress.enumerated() {
            try db.cachedStatement(sql: """
                INSERT INTO retention_progress(position, rule, started_at, cutoff_day, cursor, records, patrons, kept, done)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    position, rule.rule, Self.millis(rule.startedAt), rule.cutoff.daysSinceEpoch, rule.cursor.map { Data($0.bytes) },
                    rule.records, rule.patrons, rule.kept, rule.done,
                ])
        }
    }
}
