import Foundation
import NIOCore
import PatronVaultAudit
import PatronVaultCore
import PostgresNIO

/// One transaction (or read snapshot) on the records database.
///
/// PostgreSQL aborts a whole transaction at the first failing statement, where SQLite fails only
/// the statement. So a row that may collide with a unique index (a card or item barcode already
/// in the vault) is inserted with `ON CONFLICT DO NOTHING` and the missing row answered as
/// "already exists", which the gate records like any other answer.
final class PostgresRecordTransaction: RecordTransaction, RecordInventory {
    let session: PostgresSession
    /// The audit state read under this transaction's lock, with the appends since: written back
    /// once, before the commit, instead of once per append.
    private var auditState: AuditTrailState?
    private var auditStateChanged = false
    /// Entries appended since the last insert, inserted in one statement.
    private var pendingAuditRows: [AuditStoredRow] = []
    private var savepoints = 0
    private var savepointStack: [Savepoint] = []
    /// A savepoint could not be rolled back: what its body did may be in the transaction.
    private var poisoned = false
    /// The records `patron(cardIndex:)` read with their patron, while no row has changed since.
    private var prefetched: (patron: PatronPseudonym, records: [SealedRecord])?
    /// The change mark read with the write lock; nil in a read snapshot.
    private var lockedMark: Int64?
    /// Whether a statement of this transaction changed rows, so its commit counts one more change.
    private var rowsChanged = false
    /// The change mark read along with a lookup by card (what a snapshot's `changeMark` answers).
    private var seenMark: Int64?
    /// Makes a new connection for a backup's snapshot; set where the write lock is held for one.
    var backupLink: (() -> PostgresLink)?

    init(session: PostgresSession, auditState: AuditTrailState?, changeMark: Int64? = nil) {
        self.session = session
        self.auditState = auditState
        lockedMark = changeMark
    }

    /// Under the write lock, the mark read with the lock (one more once this transaction has
    /// changed a row); in a snapshot, the mark the snapshot sees.
    package func changeMark() throws -> Int64? {
        if let lockedMark { return rowsChanged ? lockedMark + 1 : lockedMark }
        if let seenMark { return seenMark }
        guard let row = try session.query("SELECT change_mark FROM audit_state WHERE id = 1").first else { throw AuditError.stateMissing }
        return try row.makeRandomAccess().int64(0)
    }

    // MARK: Patrons

    private static func patronRow(_ row: PostgresRandomAccessRow) throws -> PatronRow {
        PatronRow(pseudonym: PatronPseudonym(bytes: try row.bytes(0)), registrationID: RecordID(bytes: try row.bytes(1)), historyKeep: try row.bool(2))
    }

    /// The patron with their records in one statement: a lookup by card reads both, and the
    /// records wait for `records(patron:)` until anything in this transaction changes a row. The
    /// change mark comes with them (one row even for an unknown card), so a lookup read on a
    /// snapshot costs no statement of its own for it.
    package func patron(cardIndex: [UInt8]) throws -> PatronRow? {
        let rows = try session.query(
            prepared: """
            SELECT p.pseudonym, p.registration_id, p.history_keep, r.id, r.kind, r.state, r.version, r.sealed, a.change_mark
            FROM audit_state a LEFT JOIN patron p ON p.card_index = $1 LEFT JOIN record r ON r.patron = p.pseudonym
            WHERE a.id = 1 ORDER BY r.row_id
            """, cardIndex.byteaValue)
        if let first = rows.first { seenMark = try first.makeRandomAccess().int64(8) }
        guard let first = rows.first, first.makeRandomAccess()[0].bytes != nil else { return nil }
        let patron = try Self.patronRow(first.makeRandomAccess())
        let records = try rows.compactMap { row -> SealedRecord? in
            let cells = row.makeRandomAccess()
            return cells[3].bytes == nil ? nil : try Self.sealedRecord(cells, from: 3)
        }
        prefetched = (patron.pseudonym, records)
        return patron
    }

    package func patron(pseudonym: PatronPseudonym) throws -> PatronRow? {
        try session.query("SELECT pseudonym, registration_id, history_keep FROM patron WHERE pseudonym = \(pseudonym.bytes.bytea)").first
            .map { try Self.patronRow($0.makeRandomAccess()) }
    }

    package func patrons(emailIndex: [UInt8]) throws -> [PatronRow] {
        try session.query("SELECT pseudonym, registration_id, history_keep FROM patron WHERE email_index = \(emailIndex.bytea) ORDER BY row_id")
            .map { try Self.patronRow($0.makeRandomAccess()) }
    }

    package func patrons(nameIndex: [UInt8]) throws -> [PatronRow] {
        try session.query("SELECT pseudonym, registration_id, history_keep FROM patron WHERE name_index = \(nameIndex.bytea) ORDER BY row_id")
            .map { try Self.patronRow($0.makeRandomAccess()) }
    }

    private static let alreadyExists = VaultError(.alreadyExists, "a card barcode or item barcode is already in the vault")

    package func insert(_ patron: NewPatronRow) throws {
        let inserted = try change("""
            INSERT INTO patron (pseudonym, card_index, email_index, name_index, history_keep, registration_id, registered_day, expires_day)
            VALUES (\(patron.pseudonym.bytes.bytea), \(patron.cardIndex.bytea), \(patron.emailIndex.bytea), \(patron.nameIndex.bytea),
                \(patron.historyKeep), \(patron.registrationID.bytes.bytea), \(patron.registeredDay.daysSinceEpoch), \(patron.expiresDay?.daysSinceEpoch))
            ON CONFLICT DO NOTHING
            """)
        guard inserted == 1 else { throw Self.alreadyExists }
    }

    package func setHistoryKeep(of patron: PatronPseudonym, _ keep: Bool) throws {
        guard try change("UPDATE patron SET history_keep = \(keep) WHERE pseudonym = \(patron.bytes.bytea)") == 1 else {
            throw VaultError.integrity
        }
    }

    package func deletePatron(_ patron: PatronPseudonym) throws {
        guard try recordCount(patron: patron) == 0 else { throw VaultError.integrity }
        guard try change("DELETE FROM patron WHERE pseudonym = \(patron.bytes.bytea)") == 1 else { throw VaultError.integrity }
        try change("DELETE FROM pin_attempt WHERE pseudonym = \(patron.bytes.bytea)")
    }

    package func updateIndexes(of patron: PatronPseudonym, emailIndex: [UInt8], nameIndex: [UInt8], expires: CalendarDay?) throws {
        try change("""
            UPDATE patron SET email_index = \(emailIndex.bytea), name_index = \(nameIndex.bytea), expires_day = \(expires?.daysSinceEpoch)
            WHERE pseudonym = \(patron.bytes.bytea)
            """)
    }

    // MARK: Records

    /// A kind or state outside the schema's values is an edit, never a default.
    private static func sealedRecord(_ row: PostgresRandomAccessRow, from column: Int = 0, sealed: Bool = true) throws -> SealedRecord {
        guard let kind = RecordKind(rawValue: try row.int64(column + 1)), let state = RecordState(rawValue: try row.int64(column + 2)) else {
            throw VaultError.integrity
        }
        return SealedRecord(
            id: RecordID(bytes: try row.bytes(column)), kind: kind, state: state, version: try row.int64(column + 3),
            sealed: sealed ? try row.bytes(column + 4) : [])
    }

    package func record(id: RecordID, patron: PatronPseudonym) throws -> SealedRecord? {
        try session.query("SELECT id, kind, state, version, sealed FROM record WHERE patron = \(patron.bytes.bytea) AND id = \(id.bytes.bytea)").first
            .map { try Self.sealedRecord($0.makeRandomAccess()) }
    }

    package func records(patron: PatronPseudonym, kind: RecordKind, state: RecordState) throws -> [SealedRecord] {
        try session.query("""
            SELECT id, kind, state, version, sealed FROM record
            WHERE patron = \(patron.bytes.bytea) AND kind = \(kind.rawValue) AND state = \(state.rawValue) ORDER BY row_id
            """).map { try Self.sealedRecord($0.makeRandomAccess()) }
    }

    package func records(patron: PatronPseudonym) throws -> [SealedRecord] {
        if let prefetched, prefetched.patron == patron { return prefetched.records }
        return try session.query("SELECT id, kind, state, version, sealed FROM record WHERE patron = \(patron.bytes.bytea) ORDER BY row_id")
            .map { try Self.sealedRecord($0.makeRandomAccess()) }
    }

    package func recordHeaders(patron: PatronPseudonym) throws -> [SealedRecord] {
        try session.query("SELECT id, kind, state, version FROM record WHERE patron = \(patron.bytes.bytea) ORDER BY row_id")
            .map { try Self.sealedRecord($0.makeRandomAccess(), sealed: false) }
    }

    package func pendingShreds(patron: PatronPseudonym) throws -> [PendingShred] {
        try session.query("SELECT record_id, version, tag FROM pending_shred WHERE patron = \(patron.bytes.bytea)").map { row in
            let cells = row.makeRandomAccess()
            return PendingShred(record: RecordID(bytes: try cells.bytes(0)), patron: patron, version: try cells.int64(1), tag: try cells.optionalBytes(2) ?? [])
        }
    }

    package func openLoan(itemIndex: [UInt8]) throws -> OpenLoanRow? {
        try session.query(prepared: "SELECT id, kind, state, version, sealed, patron FROM record WHERE item_index = $1", itemIndex.byteaValue).first.map { row in
            let cells = row.makeRandomAccess()
            return OpenLoanRow(record: try Self.sealedRecord(cells), patron: PatronPseudonym(bytes: try cells.bytes(5)))
        }
    }

    package func insert(_ records: [NewRecord]) throws {
        guard !records.isEmpty else { return }
        // postgres-nio binds no array with NULLs in it: an absent index is bound empty and an
        // absent day as Int64.min, neither of which the vault ever stores, and turned back into NULL.
        let none = Int64.min
        let inserted = try change("""
            INSERT INTO record (patron, id, kind, state, item_index, opened_day, due_day, closed_day, version, sealed)
            SELECT d.patron, d.id, d.kind, d.state, NULLIF(d.item, ''::bytea), d.opened, NULLIF(d.due, \(none)), NULLIF(d.closed, \(none)), d.version, d.sealed
            FROM unnest(\(records.map(\.patron.bytes.bytea))::bytea[], \(records.map(\.id.bytes.bytea))::bytea[],
                \(records.map(\.kind.rawValue))::bigint[], \(records.map(\.state.rawValue))::bigint[], \(records.map { ($0.itemIndex ?? []).bytea })::bytea[],
                \(records.map(\.openedDay.daysSinceEpoch))::bigint[], \(records.map { $0.dueDay?.daysSinceEpoch ?? none })::bigint[],
                \(records.map { $0.closedDay?.daysSinceEpoch ?? none })::bigint[], \(records.map(\.version))::bigint[], \(records.map(\.sealed.bytea))::bytea[])
                AS d(patron, id, kind, state, item, opened, due, closed, version, sealed)
            ON CONFLICT DO NOTHING
            """)
        guard inserted == records.count else { throw Self.alreadyExists }
    }

    package func replaceSealed(_ old: SealedRecord, patron: PatronPseudonym, sealed: [UInt8], version: Int64, shredTag: [UInt8]) throws {
        let changed = try change("""
            UPDATE record SET sealed = \(sealed.bytea), version = \(version)
            WHERE patron = \(patron.bytes.bytea) AND id = \(old.id.bytes.bytea) AND version = \(old.version)
            """)
        try queueShred(old, patron: patron, tag: shredTag, changed: changed)
    }

    package func closeLoan(
        _ old: SealedRecord, patron: PatronPseudonym, state: RecordState, on day: CalendarDay, settled: CalendarDay?, sealed: [UInt8], version: Int64,
        shredTag: [UInt8]
    ) throws {
        let changed = try change("""
            UPDATE record SET state = \(state.rawValue), item_index = NULL, closed_day = \(day.daysSinceEpoch), settled_day = \(settled?.daysSinceEpoch),
                sealed = \(sealed.bytea), version = \(version)
            WHERE patron = \(patron.bytes.bytea) AND id = \(old.id.bytes.bytea) AND version = \(old.version)
            """)
        try queueShred(old, patron: patron, tag: shredTag, changed: changed)
    }

    package func deleteQueueingShred(_ record: SealedRecord, patron: PatronPseudonym, shredTag: [UInt8]) throws {
        let changed = try change("DELETE FROM record WHERE patron = \(patron.bytes.bytea) AND id = \(record.id.bytes.bytea)")
        try queueShred(record, patron: patron, tag: shredTag, changed: changed)
    }

    package func deleteQueueingShreds(_ rows: [(record: SealedRecord, shredTag: [UInt8])], patron: PatronPseudonym, selection: RecordSelection) throws {
        let deleted: Int
        switch selection {
        case .all:
            deleted = try change("DELETE FROM record WHERE patron = \(patron.bytes.bytea)")
        case .closedLoans:
            deleted = try change("""
                DELETE FROM record WHERE patron = \(patron.bytes.bytea) AND kind = \(RecordKind.loan.rawValue) AND state = \(RecordState.closed.rawValue)
                """)
        }
        guard deleted == rows.count else { throw VaultError.integrity }
        try insertShreds(rows.map { ($0.record, $0.shredTag) }, patron: patron)
    }

    private func queueShred(_ record: SealedRecord, patron: PatronPseudonym, tag: [UInt8], changed: Int) throws {
        guard changed == 1 else { throw VaultError.integrity }
        try insertShreds([(record, tag)], patron: patron)
    }

    /// A queue row already there for a version being deleted now can only be an edit: it is
    /// replaced, so a planted row cannot make every later deletion of that record fail.
    private func insertShreds(_ shreds: [(record: SealedRecord, tag: [UInt8])], patron: PatronPseudonym) throws {
        guard !shreds.isEmpty else { return }
        try change("""
            INSERT INTO pending_shred (record_id, patron, version, tag)
            SELECT d.id, \(patron.bytes.bytea), d.v, d.t FROM unnest(\(shreds.map(\.record.id.bytes.bytea))::bytea[],
                \(shreds.map(\.record.version))::bigint[], \(shreds.map(\.tag.bytea))::bytea[]) AS d(id, v, t)
            ON CONFLICT (record_id, version) DO UPDATE SET patron = EXCLUDED.patron, tag = EXCLUDED.tag
            """)
    }

    // MARK: Inventory

    /// The records database as the embedded store's `vault.db`, pinned on a connection of its own
    /// while this transaction holds the write lock: what every writer committed before it, and
    /// nothing after.
    package func backupSnapshot(to path: String) throws -> any BackupSnapshot {
        guard let backupLink else { throw VaultError.storage("a backup is taken only under the vault's write lock") }
        return try PostgresBackupSnapshot(on: backupLink(), tables: PostgresMigration.recordTables, path: path, migrator: SQLiteSchema.recordsMigrator)
    }

    package func counts() throws -> (patrons: Int, records: Int, pendingShreds: Int) {
        let cells = try session.query("""
            SELECT (SELECT count(*) FROM patron), (SELECT count(*) FROM record), (SELECT count(*) FROM pending_shred)
            """)[0].makeRandomAccess()
        return (Int(try cells.int64(0)), Int(try cells.int64(1)), Int(try cells.int64(2)))
    }

    package func owners() throws -> KeyOwners {
        var owners = KeyOwners()
        // A patron any record or queued shred still names owns their key even without a row.
        for row in try session.query("SELECT pseudonym FROM patron UNION SELECT patron FROM record UNION SELECT patron FROM pending_shred") {
            owners.patrons.insert(PatronPseudonym(bytes: try row.makeRandomAccess().bytes(0)))
        }
        for row in try session.query("SELECT patron, id, version FROM record UNION ALL SELECT patron, record_id, version FROM pending_shred") {
            let cells = row.makeRandomAccess()
            owners.records.insert(RecordOwner(patron: PatronPseudonym(bytes: try cells.bytes(0)), record: RecordID(bytes: try cells.bytes(1)), version: try cells.int64(2)))
        }
        return owners
    }

    package func recordVersions() throws -> [RecordVersion] {
        try session.query("SELECT patron, id, version, kind, state FROM record").map { row in
            let cells = row.makeRandomAccess()
            guard let kind = RecordKind(rawValue: try cells.int64(3)), let state = RecordState(rawValue: try cells.int64(4)) else { throw VaultError.integrity }
            return RecordVersion(
                owner: RecordOwner(patron: PatronPseudonym(bytes: try cells.bytes(0)), record: RecordID(bytes: try cells.bytes(1)), version: try cells.int64(2)),
                kind: kind, state: state)
        }
    }

    package func tagUntaggedShreds(_ tag: (PendingShred) -> [UInt8]) throws {
        let untagged = try session.query("""
            SELECT record_id, patron, version FROM pending_shred p WHERE tag IS NULL
            AND NOT EXISTS (SELECT 1 FROM record r WHERE r.patron = p.patron AND r.id = p.record_id AND r.version = p.version)
            """).map { row in
            let cells = row.makeRandomAccess()
            return PendingShred(record: RecordID(bytes: try cells.bytes(0)), patron: PatronPseudonym(bytes: try cells.bytes(1)), version: try cells.int64(2), tag: [])
        }
        for shred in untagged {
            try change("UPDATE pending_shred SET tag = \(tag(shred).bytea) WHERE record_id = \(shred.record.bytes.bytea) AND version = \(shred.version)")
        }
    }

    // MARK: PIN attempts

    package func pinAttempt(patron: PatronPseudonym) throws -> PINAttempt? {
        try session.query(prepared: "SELECT failures, locked_until FROM pin_attempt WHERE pseudonym = $1", patron.bytes.byteaValue).first.map { row in
            let cells = row.makeRandomAccess()
            return PINAttempt(failures: Int(try cells.int64(0)), lockedUntil: try cells.optionalInt64(1).map(Self.date(millis:)))
        }
    }

    package func setPINAttempt(patron: PatronPseudonym, _ attempt: PINAttempt, on day: CalendarDay) throws {
        try change("""
            INSERT INTO pin_attempt (pseudonym, failures, locked_until, last_failure_day)
            VALUES (\(patron.bytes.bytea), \(Int64(attempt.failures)), \(attempt.lockedUntil.map(Self.millis)), \(day.daysSinceEpoch))
            ON CONFLICT (pseudonym) DO UPDATE SET
                failures = EXCLUDED.failures, locked_until = EXCLUDED.locked_until, last_failure_day = EXCLUDED.last_failure_day
            """)
    }

    package func clearPINAttempts(patron: PatronPseudonym) throws {
        try change("DELETE FROM pin_attempt WHERE pseudonym = \(patron.bytes.bytea)")
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    // MARK: Staff

    private static func staffRow(_ row: PostgresRow) throws -> StaffRow {
        let cells = row.makeRandomAccess()
        guard let role = StaffRole(rawValue: try cells.string(2)) else { throw VaultError.integrity }
        let account = StaffAccount(
            id: try cells.string(0), name: try cells.string(1), role: role, createdAt: date(millis: try cells.int64(4)),
            revokedAt: try cells.optionalInt64(5).map(date(millis:)), remoteOnly: try cells.bool(6))
        return StaffRow(account: account, tokenHash: try cells.bytes(3))
    }

    package func staff(tokenHash: [UInt8]) throws -> StaffRow? {
        try session.query(prepared: "SELECT id, name, role, token_hash, created_at, revoked_at, remote_only FROM staff WHERE token_hash = $1", tokenHash.byteaValue)
            .first.map(Self.staffRow)
    }

    package func staff(named name: String) throws -> StaffRow? {
        try Self.storable(name)
        return try session.query("SELECT id, name, role, token_hash, created_at, revoked_at, remote_only FROM staff WHERE name = \(name)").first.map(Self.staffRow)
    }

    package func allStaff() throws -> [StaffRow] {
        try session.query("SELECT id, name, role, token_hash, created_at, revoked_at, remote_only FROM staff ORDER BY name").map(Self.staffRow)
    }

    package func insertStaff(_ account: StaffAccount, tokenHash: [UInt8]) throws {
        let inserted = try change("""
            INSERT INTO staff (id, name, role, token_hash, created_at, remote_only)
            VALUES (\(account.id), \(account.name), \(account.role.rawValue), \(tokenHash.bytea), \(Self.millis(account.createdAt)), \(account.remoteOnly))
            ON CONFLICT DO NOTHING
            """)
        guard inserted == 1 else { throw Self.alreadyExists }
    }

    package func revokeStaff(id: String, at time: Date) throws {
        try Self.storable(id)
        try change("UPDATE staff SET revoked_at = \(Self.millis(time)) WHERE id = \(id)")
    }

    // MARK: Legal orders

    package func insertLegalOrder(_ order: StoredLegalOrder) throws {
        try change("INSERT INTO legal_order (id, patron, sealed) VALUES (\(order.id), \(order.patron.bytes.bytea), \(order.sealed.bytea))")
    }

    package func replaceLegalOrder(_ order: StoredLegalOrder) throws {
        let changed = try change("UPDATE legal_order SET sealed = \(order.sealed.bytea) WHERE id = \(order.id) AND patron = \(order.patron.bytes.bytea)")
        guard changed == 1 else { throw VaultError.integrity }
    }

    package func legalOrder(id: String) throws -> StoredLegalOrder? {
        try Self.storable(id)
        return try session.query("SELECT id, patron, sealed FROM legal_order WHERE id = \(id)").first.map(Self.legalOrder)
    }

    package func legalOrders(patron: PatronPseudonym?) throws -> [StoredLegalOrder] {
        if let patron {
            return try session.query("SELECT id, patron, sealed FROM legal_order WHERE patron = \(patron.bytes.bytea) ORDER BY id").map(Self.legalOrder)
        }
        return try session.query("SELECT id, patron, sealed FROM legal_order ORDER BY id").map(Self.legalOrder)
    }

    private static func legalOrder(_ row: PostgresRow) throws -> StoredLegalOrder {
        let cells = row.makeRandomAccess()
        return StoredLegalOrder(id: try cells.string(0), patron: PatronPseudonym(bytes: try cells.bytes(1)), sealed: try cells.bytes(2))
    }

    // MARK: Statistics

    package func countReturn(item: String, branch: String, month: String) throws {
        try Self.storable(item, branch, month)
        try change("""
            INSERT INTO circulation_stat (item_barcode, branch, month, returns) VALUES (\(item), \(branch), \(month), 1)
            ON CONFLICT (item_barcode, branch, month) DO UPDATE SET returns = circulation_stat.returns + 1
            """)
    }

    package func statistics() throws -> [CirculationStatistic] {
        try session.query("SELECT item_barcode, branch, month, returns FROM circulation_stat ORDER BY month, branch, item_barcode").map { row in
            let cells = row.makeRandomAccess()
            return CirculationStatistic(
                itemBarcode: try cells.string(0), branch: try cells.string(1), month: try cells.string(2), returns: Int(try cells.int64(3)))
        }
    }

    // MARK: Retention

    package func dueLoanCount(_ state: RecordState, onOrBefore day: CalendarDay) throws -> (records: Int, patrons: Int) {
        let column = state == .held ? "settled_day" : "closed_day"
        let cells = try session.query(PostgresQuery(unsafeSQL: """
            SELECT count(*), count(DISTINCT patron) FROM record WHERE state = \(state.rawValue) AND kind = $1 AND \(column) <= $2
            """, binds: Self.binds(RecordKind.loan.rawValue, day.daysSinceEpoch)))[0].makeRandomAccess()
        return (Int(try cells.int64(0)), Int(try cells.int64(1)))
    }

    package func patronsWithDueLoans(
        _ state: RecordState, onOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int
    ) throws -> [(patron: PatronPseudonym, due: Int)] {
        let column = state == .held ? "settled_day" : "closed_day"
        var binds = PostgresBindings()
        binds.append(RecordKind.loan.rawValue)
        binds.append(day.daysSinceEpoch)
        binds.append((cursor?.bytes ?? []).bytea)
        binds.append(Int64(limit))
        return try session.query(PostgresQuery(unsafeSQL: """
            SELECT patron, count(*) FROM record
            WHERE state = \(state.rawValue) AND kind = $1 AND \(column) <= $2 AND patron > $3
            GROUP BY patron ORDER BY patron LIMIT $4
            """, binds: binds)).map { row in
            let cells = row.makeRandomAccess()
            return (PatronPseudonym(bytes: try cells.bytes(0)), Int(try cells.int64(1)))
        }
    }

    package func expiredPatrons(expiredOnOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(row: PatronRow, expires: CalendarDay)] {
        try session.query("""
            SELECT pseudonym, registration_id, history_keep, expires_day FROM patron
            WHERE expires_day IS NOT NULL AND expires_day <= \(day.daysSinceEpoch) AND pseudonym > \((cursor?.bytes ?? []).bytea)
            ORDER BY pseudonym LIMIT \(Int64(limit))
            """).map { row in
            let cells = row.makeRandomAccess()
            return (try Self.patronRow(cells), CalendarDay(daysSinceEpoch: try cells.int64(3)))
        }
    }

    package func recordCount(patron: PatronPseudonym) throws -> Int {
        Int(try session.query("SELECT count(*) FROM record WHERE patron = \(patron.bytes.bytea)")[0].makeRandomAccess().int64(0))
    }

    package func loansKeepingAccount(patron: PatronPseudonym) throws -> Int {
        Int(try session.query("""
            SELECT count(*) FROM record WHERE patron = \(patron.bytes.bytea) AND kind = \(RecordKind.loan.rawValue)
                AND (state = \(RecordState.open.rawValue) OR (state = \(RecordState.held.rawValue) AND settled_day IS NULL))
            """)[0].makeRandomAccess().int64(0))
    }

    /// The time of the latest permitted audit entry about or by the patron.
    package func lastActivity(of patron: PatronPseudonym) throws -> Date? {
        let id = patron.description
        try flushAudit()
        return try session.query("""
            SELECT max(time) FROM (
                SELECT max(time) AS time FROM audit_entry WHERE patron = \(id) AND decision = 'permit'
                UNION ALL SELECT max(time) FROM audit_entry WHERE principal_id = \(id) AND decision = 'permit') AS latest
            """)[0].makeRandomAccess().optionalInt64(0).map { Date(timeIntervalSince1970: Double($0) / 1_000_000) }
    }

    private static let forgettable = "coalesce(last_failure_day, 0) <= $1 AND (locked_until IS NULL OR locked_until <= $2)"

    package func signInFailureCount(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int {
        Int(try session.query(PostgresQuery(
            unsafeSQL: "SELECT count(*) FROM pin_attempt WHERE \(Self.forgettable)", binds: Self.binds(day.daysSinceEpoch, Self.millis(now))
        ))[0].makeRandomAccess().int64(0))
    }

    package func forgetSignInFailures(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int {
        try change(PostgresQuery(unsafeSQL: "DELETE FROM pin_attempt WHERE \(Self.forgettable)", binds: Self.binds(day.daysSinceEpoch, Self.millis(now))))
    }

    package func monthlyStatisticCount(before month: String) throws -> Int {
        Int(try session.query("SELECT count(*) FROM circulation_stat WHERE length(month) = 7 AND month < \(month)")[0].makeRandomAccess().int64(0))
    }

    package func coarsenStatistics(before month: String) throws -> Int {
        try change("""
            INSERT INTO circulation_stat (item_barcode, branch, month, returns)
            SELECT item_barcode, branch, substr(month, 1, 4), sum(returns) FROM circulation_stat
            WHERE length(month) = 7 AND month < \(month) GROUP BY item_barcode, branch, substr(month, 1, 4)
            ON CONFLICT (item_barcode, branch, month) DO UPDATE SET returns = circulation_stat.returns + EXCLUDED.returns
            """)
        return try change("DELETE FROM circulation_stat WHERE length(month) = 7 AND month < \(month)")
    }

    package func clearShreds(_ done: [PendingShred]) throws {
        guard !done.isEmpty else { return }
        try change("""
            DELETE FROM pending_shred p USING unnest(\(done.map(\.record.bytes.bytea))::bytea[], \(done.map(\.version))::bigint[]) AS d(id, v)
            WHERE p.record_id = d.id AND p.version = d.v
            """)
    }

    package func retentionProgress() throws -> [RetentionProgress] {
        try session.query("SELECT rule, started_at, cutoff_day, cursor, records, patrons, kept, done FROM retention_progress ORDER BY position").map { row in
            let cells = row.makeRandomAccess()
            return RetentionProgress(
                rule: try cells.string(0), startedAt: Self.date(millis: try cells.int64(1)), cutoff: CalendarDay(daysSinceEpoch: try cells.int64(2)),
                cursor: try cells.optionalBytes(3).map(PatronPseudonym.init(bytes:)), records: Int(try cells.int64(4)), patrons: Int(try cells.int64(5)),
                kept: Int(try cells.int64(6)), done: try cells.bool(7))
        }
    }

    package func saveRetentionProgress(_ progress: [RetentionProgress]) throws {
        try change("DELETE FROM retention_progress")
        for (position, rule) in progress.enumerated() {
            try change("""
                INSERT INTO retention_progress (position, rule, started_at, cutoff_day, cursor, records, patrons, kept, done)
                VALUES (\(Int64(position)), \(rule.rule), \(Self.millis(rule.startedAt)), \(rule.cutoff.daysSinceEpoch), \(rule.cursor?.bytes.bytea),
                    \(Int64(rule.records)), \(Int64(rule.patrons)), \(Int64(rule.kept)), \(rule.done))
                """)
        }
    }

    private static func binds(_ first: Int64, _ second: Int64) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(first)
        binds.append(second)
        return binds
    }

    // MARK: Audit trail

    /// The state, read under the row lock the first time this transaction needs it.
    private func lockedAuditState() throws -> AuditTrailState {
        if let auditState { return auditState }
        let (state, mark) = try PostgresAudit.lockState(in: session)
        auditState = state
        lockedMark = mark
        return state
    }

    package func appendAudit(_ draft: AuditDraft, to trail: AuditTrail) throws {
        try appendAudit([draft], to: trail)
    }

    /// Extends the chain in memory; the rows are inserted together before the commit (or before
    /// this transaction reads the trail), so a group of lookups inserts its entries in one
    /// statement.
    package func appendAudit(_ drafts: [AuditDraft], to trail: AuditTrail) throws {
        guard !drafts.isEmpty else { return }
        var state = try lockedAuditState()
        let extended = try trail.extend(drafts, state: &state)
        for row in extended.rows {
            try Self.storable(row.texts.lazy.compactMap { $0 })
            if let detail = row.detail { try Self.storable(detail) }
        }
        if !extended.checkpoints.isEmpty {
            try prepareToChange()
            for checkpoint in extended.checkpoints { _ = try PostgresAudit.store(checkpoint, in: session) }
        }
        pendingAuditRows += extended.rows
        auditState = state
        auditStateChanged = true
    }

    package func signAuditCheckpoint(_ trail: AuditTrail, at time: Date) throws -> AuditCheckpoint {
        let state = try lockedAuditState()
        try prepareToChange()
        return try PostgresAudit.store(try trail.checkpoint(of: state, at: time), in: session)
    }

    /// Inserts the appended rows not yet in the table.
    private func flushAudit() throws {
        guard !pendingAuditRows.isEmpty else { return }
        try prepareToChange()
        try PostgresAudit.insert(pendingAuditRows, in: session)
        pendingAuditRows = []
    }

    /// Inserts the pending rows and writes the state row if appends changed it, all before the
    /// commit.
    func writeAuditState() throws {
        try flushAudit()
        guard auditStateChanged, let auditState else { return }
        try prepareToChange()
        try PostgresAudit.write(auditState, in: session)
        auditStateChanged = false
    }

    /// The statements that end a write transaction, sent together and answered together: the
    /// pending rows with the state row (one statement), and the COMMIT. A failure in any of them ends the transaction
    /// without committing (PostgreSQL answers a COMMIT after a failed statement with ROLLBACK).
    func commit() throws {
        guard !poisoned else { throw VaultError.storage("a failed operation could not be undone on the records database; nothing was written") }
        var statements: [PostgresStatement] = []
        let rows = pendingAuditRows
        if auditStateChanged, let auditState {
            statements.append(rows.isEmpty ? .text(PostgresAudit.writeStatement(auditState)) : PostgresAudit.appendStatement(rows, state: auditState))
        } else if !rows.isEmpty {
            statements.append(PostgresAudit.insertStatement(rows))
        }
        if rowsChanged { statements.append(.prepared(PostgresAudit.bumpChangeMark, [])) }
        statements.append(.text("COMMIT"))
        let results = try session.pipeline(statements)
        pendingAuditRows = []
        auditStateChanged = false
        if !rows.isEmpty, let error = results[0].error { throw PostgresAudit.insertFailure(error, rows: rows) }
        if let error = results.lazy.compactMap(\.error).first { throw error }
        guard results[results.count - 1].command == "COMMIT" else {
            throw VaultError.storage("the records database did not commit the transaction; nothing was written")
        }
    }

    package func auditEntries(_ query: AuditQuery) throws -> [AuditEntry] {
        try Self.storable(query.principalID ?? "", query.action ?? "", query.patron ?? "")
        try flushAudit()
        return try PostgresAudit.entries(query, in: session)
    }

    package func auditPatrons(touchedBy principalID: String, since: Date?, until: Date?) throws -> [String] {
        try Self.storable(principalID)
        try flushAudit()
        return try PostgresAudit.patrons(column: "principal_id", text: principalID, keyVersion: nil, since: since, until: until, in: session)
    }

    package func auditPatrons(keyVersion: Int, since: Date?, until: Date?) throws -> [String] {
        try flushAudit()
        return try PostgresAudit.patrons(column: "key_version", text: nil, keyVersion: Int64(keyVersion), since: since, until: until, in: session)
    }

    package func verifyAudit(with verifier: AuditVerifier, against checkpoint: AuditCheckpoint?) throws -> AuditVerification {
        try writeAuditState()
        return try PostgresAudit.verify(with: verifier, against: checkpoint, in: session)
    }

    // MARK: Savepoints

    /// The entries appended inside are inserted before it ends, so an insert that collides (a
    /// trail state set back) fails inside it: a best-effort append is then undone alone and
    /// what follows (an `audit verify` that says where the trail broke) still runs.
    package func undoable<T>(_ body: () throws -> T) throws -> T {
        try savepoint {
            let result = try body()
            try flushAudit()
            return result
        }
    }

    /// Runs `body` so that a failure undoes only what it did, the audit state and the rows
    /// appended in memory included. The SAVEPOINT itself is sent only before the body's first
    /// change to the database: a body that only reads (a lookup in a group) costs no statement.
    /// A statement that fails on the server before that change aborts the whole transaction, as
    /// PostgreSQL does, and with it the group; so text the server would refuse (a NUL) is
    /// refused before it is sent (`storable`).
    func savepoint<T>(_ body: () throws -> T) throws -> T {
        let mark = Savepoint(auditState: auditState, auditStateChanged: auditStateChanged, pendingAuditRows: pendingAuditRows)
        savepointStack.append(mark)
        let result: T
        do {
            result = try body()
        } catch {
            (auditState, auditStateChanged, pendingAuditRows) = (mark.auditState, mark.auditStateChanged, mark.pendingAuditRows)
            prefetched = nil
            if let name = savepointStack.removeLast().name {
                do {
                    try session.execute(PostgresQuery(unsafeSQL: "ROLLBACK TO SAVEPOINT \(name)"))
                    try session.execute(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(name)"))
                } catch {
                    // What the body did may still be in the transaction: it must not commit.
                    poisoned = true
                    throw error
                }
            }
            throw error
        }
        if let name = savepointStack.removeLast().name {
            do {
                try session.execute(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(name)"))
            } catch {
                poisoned = true
                throw error
            }
        }
        return result
    }

    /// Refuses text PostgreSQL cannot hold (a NUL character) before it reaches the server,
    /// where it would abort the whole transaction rather than fail one caller.
    static func storable(_ texts: String...) throws {
        try storable(texts)
    }

    static func storable(_ texts: some Sequence<String>) throws {
        guard !texts.contains(where: { $0.utf8.contains(0) }) else {
            throw VaultError(.invalidInput, "a text with a NUL character cannot be stored or looked up")
        }
    }

    /// Sends the SAVEPOINT of every open savepoint that has none yet, outermost first: called
    /// before any statement that changes a row.
    private func prepareToChange() throws {
        for index in savepointStack.indices where savepointStack[index].name == nil {
            savepoints += 1
            let name = "operation_\(savepoints)"
            try session.execute(PostgresQuery(unsafeSQL: "SAVEPOINT \(name)"))
            savepointStack[index].name = name
        }
    }

    /// A statement that changes rows, inside whatever savepoints are open.
    @discardableResult
    private func change(_ query: PostgresQuery) throws -> Int {
        prefetched = nil
        rowsChanged = true
        try prepareToChange()
        return try session.execute(query)
    }

    private struct Savepoint {
        var name: String?
        let auditState: AuditTrailState?
        let auditStateChanged: Bool
        let pendingAuditRows: [AuditStoredRow]

        init(auditState: AuditTrailState?, auditStateChanged: Bool, pendingAuditRows: [AuditStoredRow]) {
            self.auditState = auditState
            self.auditStateChanged = auditStateChanged
            self.pendingAuditRows = pendingAuditRows
        }
    }
}
