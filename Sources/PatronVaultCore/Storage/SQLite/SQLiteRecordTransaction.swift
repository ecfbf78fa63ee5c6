import Foundation
import GRDB
import GRDBSQLite
import PatronVaultAudit

/// One transaction (or read snapshot) on `vault.db`, with the statements prepared once per
/// connection and reused.
struct SQLiteRecordTransaction: RecordTransaction, RecordInventory {
    let db: Database

    /// Copied through a second, read-only connection: SQLite's backup cannot read through a
    /// connection that holds the write lock, and this transaction holds it so that nothing
    /// commits, from this process or another, until the key store is copied too.
    func backupSnapshot(to path: String) throws -> any BackupSnapshot {
        var readOnly = Configuration()
        readOnly.readonly = true
        let source = try DatabaseQueue(path: String(cString: sqlite3_db_filename(db.sqliteConnection, "main")), configuration: readOnly)
        let copy = try DatabaseQueue(path: path)
        try source.backup(to: copy)
        try copy.close()
        try source.close()
        return WrittenBackupSnapshot()
    }

    static let patronColumns = "pseudonym, registration_id, history_keep"

    static func patronRow(_ row: Row) -> PatronRow {
        PatronRow(
            pseudonym: PatronPseudonym(bytes: Array(row[0] as Data)), registrationID: RecordID(bytes: Array(row[1] as Data)),
            historyKeep: row[2] as Bool, askedCard: nil)
    }

    /// Read by position on the hot paths: GRDB matches a column name case-insensitively,
    /// lowercasing it on every access.
    private static let recordColumns = "id, kind, state, version, sealed"

    /// A kind or state outside the schema's values is an edit, never a default.
    private static func sealedRecord(_ row: Row) throws -> SealedRecord {
        guard let kind = RecordKind(rawValue: row[1]), let state = RecordState(rawValue: row[2]) else { throw VaultError.integrity }
        return SealedRecord(id: RecordID(bytes: Array(row[0] as Data)), kind: kind, state: state, version: row[3], sealed: Array(row[4] as Data))
    }

    /// A role outside the known ones is an edit, never a default.
    private static func staffRow(_ row: Row) throws -> StaffRow {
        guard let role = StaffRole(rawValue: row["role"]) else { throw VaultError.integrity }
        let account = StaffAccount(
            id: row["id"], name: row["name"], role: role, createdAt: date(millis: row["created_at"]),
            revokedAt: (row["revoked_at"] as Int64?).map(date(millis:)), remoteOnly: row["remote_only"] as Bool)
        return StaffRow(account: account, tokenHash: Array(row["token_hash"] as Data))
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    // MARK: Patrons

    /// None is kept: lookups on this store read under the write lock.
    func changeMark() throws -> Int64? { nil }

    func patron(cardIndex: [UInt8]) throws -> PatronRow? {
        let query = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.patronColumns) FROM patron WHERE card_index = ?"), in: db)
        defer { query.reset() }
        query.bind(1, cardIndex)
        guard try query.step() else { return nil }
        return PatronRow(
            pseudonym: PatronPseudonym(bytes: query.bytes(0)), registrationID: RecordID(bytes: query.bytes(1)), historyKeep: query.int64(2) != 0,
            askedCard: nil)
    }

    func patron(pseudonym: PatronPseudonym) throws -> PatronRow? {
        let query = RawStatement(try db.cachedStatement(sql: "SELECT \(Self.patronColumns) FROM patron WHERE pseudonym = ?"), in: db)
        defer { query.reset() }
        query.bind(1, pseudonym.bytes)
        guard try query.step() else { return nil }
        return PatronRow(
            pseudonym: PatronPseudonym(bytes: query.bytes(0)), registrationID: RecordID(bytes: query.bytes(1)), historyKeep: query.int64(2) != 0,
            askedCard: nil)
    }

    func patrons(emailIndex: [UInt8]) throws -> [PatronRow] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.patronColumns) FROM patron WHERE email_index = ?"), arguments: [Data(emailIndex)])
            .map(Self.patronRow)
    }

    func patrons(nameIndex: [UInt8]) throws -> [PatronRow] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.patronColumns) FROM patron WHERE name_index = ?"), arguments: [Data(nameIndex)])
            .map(Self.patronRow)
    }

    /// A unique index refusing a row is an answer ("already exists") that the gate records, not
    /// a storage failure that rolls the record of the attempt back with it.
    private func unique<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw VaultError(.alreadyExists, "a card barcode or item barcode is already in the vault")
        }
    }

    func insert(_ patron: NewPatronRow) throws {
        try unique { try insertRow(patron) }
    }

    private func insertRow(_ patron: NewPatronRow) throws {
        let insert = RawStatement(
            try db.cachedStatement(sql: """
                INSERT INTO patron(pseudonym, card_index, email_index, name_index, history_keep, registration_id, registered_day, expires_day)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """), in: db)
        defer { insert.reset() }
        insert.bind(1, patron.pseudonym.bytes)
        insert.bind(2, patron.cardIndex)
        insert.bind(3, patron.emailIndex)
        insert.bind(4, patron.nameIndex)
        insert.bind(5, patron.historyKeep ? 1 : 0)
        insert.bind(6, patron.registrationID.bytes)
        insert.bind(7, patron.registeredDay.daysSinceEpoch)
        insert.bind(8, patron.expiresDay?.daysSinceEpoch)
        _ = try insert.step()
    }

    func setHistoryKeep(of patron: PatronPseudonym, _ keep: Bool) throws {
        try db.cachedStatement(sql: "UPDATE patron SET history_keep = ? WHERE pseudonym = ?").execute(arguments: [keep, Data(patron.bytes)])
        guard db.changesCount == 1 else { throw VaultError.integrity }
    }

    func deletePatron(_ patron: PatronPseudonym) throws {
        guard try recordCount(patron: patron) == 0 else { throw VaultError.integrity }
        try db.cachedStatement(sql: "DELETE FROM patron WHERE pseudonym = ?").execute(arguments: [Data(patron.bytes)])
        guard db.changesCount == 1 else { throw VaultError.integrity }
        try db.cachedStatement(sql: "DELETE FROM pin_attempt WHERE pseudonym = ?").execute(arguments: [Data(patron.bytes)])
    }

    func updateIndexes(of patron: PatronPseudonym, emailIndex: [UInt8], nameIndex: [UInt8], expires: CalendarDay?) throws {
        try db.cachedStatement(sql: "UPDATE patron SET email_index = ?, name_index = ?, expires_day = ? WHERE pseudonym = ?")
            .execute(arguments: [Data(emailIndex), Data(nameIndex), expires?.daysSinceEpoch, Data(patron.bytes)])
    }

    // MARK: Records

    func record(id: RecordID, patron: PatronPseudonym) throws -> SealedRecord? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.recordColumns) FROM record WHERE patron = ? AND id = ?"), arguments: [Data(patron.bytes), Data(id.bytes)]
        ).map { try Self.sealedRecord($0) }
    }

    func records(patron: PatronPseudonym, kind: RecordKind, state: RecordState) throws -> [SealedRecord] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT \(Self.recordColumns) FROM record WHERE patron = ? AND kind = ? AND state = ?"),
            arguments: [Data(patron.bytes), kind.rawValue, state.rawValue]
        ).map { try Self.sealedRecord($0) }
    }

    func records(patron: PatronPseudonym) throws -> [SealedRecord] {
        try rows(patron: patron, sql: "SELECT \(Self.recordColumns) FROM record WHERE patron = ?")
    }

    func recordHeaders(patron: PatronPseudonym) throws -> [SealedRecord] {
        try rows(patron: patron, sql: "SELECT id, kind, state, version FROM record WHERE patron = ?")
    }

    private func rows(patron: PatronPseudonym, sql: String) throws -> [SealedRecord] {
        let query = RawStatement(try db.cachedStatement(sql: sql), in: db)
        defer { query.reset() }
        query.bind(1, patron.bytes)
        let sealed = query.columnCount > 4
        var records: [SealedRecord] = []
        while try query.step() {
            guard let kind = RecordKind(rawValue: query.int64(1)), let state = RecordState(rawValue: query.int64(2)) else { throw VaultError.integrity }
            records.append(SealedRecord(
                id: RecordID(bytes: query.bytes(0)), kind: kind, state: state, version: query.int64(3), sealed: sealed ? query.bytes(4) : []))
        }
        return records
    }

    func pendingShreds(patron: PatronPseudonym) throws -> [PendingShred] {
        let query = RawStatement(try db.cachedStatement(sql: "SELECT record_id, version, tag FROM pending_shred WHERE patron = ?"), in: db)
        defer { query.reset() }
        query.bind(1, patron.bytes)
        var shreds: [PendingShred] = []
        while try query.step() {
            shreds.append(PendingShred(record: RecordID(bytes: query.bytes(0)), patron: patron, version: query.int64(1), tag: query.optionalBytes(2) ?? []))
        }
        return shreds
    }

    func openLoan(itemIndex: [UInt8]) throws -> OpenLoanRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.recordColumns), patron FROM record WHERE item_index = ?"), arguments: [Data(itemIndex)])
            .map { OpenLoanRow(record: try Self.sealedRecord($0), patron: PatronPseudonym(bytes: Array($0[5] as Data))) }
    }

    func insert(_ records: [NewRecord]) throws {
        try unique { try insertRows(records) }
    }

    private func insertRows(_ records: [NewRecord]) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO record(patron, id, kind, state, item_index, opened_day, due_day, closed_day, version, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for record in records {
            let insert = RawStatement(statement, in: db)
            insert.bind(1, record.patron.bytes)
            insert.bind(2, record.id.bytes)
            insert.bind(3, record.kind.rawValue)
            insert.bind(4, record.state.rawValue)
            insert.bind(5, record.itemIndex)
            insert.bind(6, record.openedDay.daysSinceEpoch)
            insert.bind(7, record.dueDay?.daysSinceEpoch)
            insert.bind(8, record.closedDay?.daysSinceEpoch)
            insert.bind(9, record.version)
            insert.bind(10, record.sealed)
            _ = try insert.step()
            insert.reset()
        }
    }

    func replaceSealed(_ old: SealedRecord, patron: PatronPseudonym, sealed: [UInt8], version: Int64, shredTag: [UInt8]) throws {
        try db.cachedStatement(sql: "UPDATE record SET sealed = ?, version = ? WHERE patron = ? AND id = ? AND version = ?")
            .execute(arguments: [Data(sealed), version, Data(patron.bytes), Data(old.id.bytes), old.version])
        try queueShred(old, patron: patron, tag: shredTag)
    }

    func closeLoan(
        _ old: SealedRecord, patron: PatronPseudonym, state: RecordState, on day: CalendarDay, settled: CalendarDay?, sealed: [UInt8], version: Int64,
        shredTag: [UInt8]
    ) throws {
        try db.cachedStatement(sql: """
            UPDATE record SET state = ?, item_index = NULL, closed_day = ?, settled_day = ?, sealed = ?, version = ? WHERE patron = ? AND id = ? AND version = ?
            """).execute(arguments: [
                state.rawValue, day.daysSinceEpoch, settled?.daysSinceEpoch, Data(sealed), version, Data(patron.bytes), Data(old.id.bytes), old.version,
            ])
        guard db.changesCount == 1 else { throw VaultError.integrity }
        try queueShred(old, patron: patron, tag: shredTag)
    }

    func deleteQueueingShred(_ record: SealedRecord, patron: PatronPseudonym, shredTag: [UInt8]) throws {
        let delete = RawStatement(try db.cachedStatement(sql: "DELETE FROM record WHERE patron = ? AND id = ?"), in: db)
        delete.bind(1, patron.bytes)
        delete.bind(2, record.id.bytes)
        try delete.execute()
        try queueShred(record, patron: patron, tag: shredTag)
    }

    func deleteQueueingShreds(_ rows: [(record: SealedRecord, shredTag: [UInt8])], patron: PatronPseudonym, selection: RecordSelection) throws {
        let delete: RawStatement
        switch selection {
        case .all:
            delete = RawStatement(try db.cachedStatement(sql: "DELETE FROM record WHERE patron = ?"), in: db)
        case .closedLoans:
            delete = RawStatement(try db.cachedStatement(sql: "DELETE FROM record WHERE patron = ? AND kind = ? AND state = ?"), in: db)
            delete.bind(2, RecordKind.loan.rawValue)
            delete.bind(3, RecordState.closed.rawValue)
        }
        delete.bind(1, patron.bytes)
        try delete.execute()
        guard db.changesCount == rows.count else { throw VaultError.integrity }
        for row in rows { try insertShred(row.record, patron: patron, tag: row.shredTag) }
    }

    private func queueShred(_ record: SealedRecord, patron: PatronPseudonym, tag: [UInt8]) throws {
        guard db.changesCount == 1 else { throw VaultError.integrity }
        try insertShred(record, patron: patron, tag: tag)
    }

    private func insertShred(_ record: SealedRecord, patron: PatronPseudonym, tag: [UInt8]) throws {
        // A queue row already there for a record version being deleted now can only be an edit
        // (the vault queues a version once, as its row goes): it is replaced, so a planted row
        // cannot make every later deletion of that record fail.
        let insert = RawStatement(
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO pending_shred(record_id, patron, version, tag) VALUES (?, ?, ?, ?)"), in: db)
        insert.bind(1, record.id.bytes)
        insert.bind(2, patron.bytes)
        insert.bind(3, record.version)
        insert.bind(4, tag)
        try insert.execute()
    }

    // MARK: Inventory

    func counts() throws -> (patrons: Int, records: Int, pendingShreds: Int) {
        (
            try Int.fetchOne(db, sql: "SELECT count(*) FROM patron") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM record") ?? 0,
            try Int.fetchOne(db, sql: "SELECT count(*) FROM pending_shred") ?? 0
        )
    }

    func owners() throws -> KeyOwners {
        try SQLiteStorage.owners(
            // A patron any record or queued shred still names owns their key even without a
            // patron row: deleting that row alone must not get the vault to destroy the key.
            patrons: "SELECT pseudonym FROM patron UNION SELECT patron FROM record UNION SELECT patron FROM pending_shred",
            records: "SELECT patron, id, version FROM record UNION ALL SELECT patron, record_id, version FROM pending_shred",
            in: db)
    }

    func recordVersions() throws -> [RecordVersion] {
        try Row.fetchAll(db, sql: "SELECT patron, id, version, kind, state FROM record").map {
            guard let kind = RecordKind(rawValue: $0[3]), let state = RecordState(rawValue: $0[4]) else { throw VaultError.integrity }
            return RecordVersion(
                owner: RecordOwner(patron: PatronPseudonym(bytes: Array($0[0] as Data)), record: RecordID(bytes: Array($0[1] as Data)), version: $0[2]),
                kind: kind, state: state)
        }
    }

    func tagUntaggedShreds(_ tag: (PendingShred) -> [UInt8]) throws {
        // Only entries whose version is no longer a live row: a queued shred for the version a
        // record is at now was never the vault's (it queues the old version of a change).
        let untagged = try Row.fetchAll(db, sql: """
            SELECT record_id, patron, version FROM pending_shred p WHERE tag IS NULL
            AND NOT EXISTS (SELECT 1 FROM record r WHERE r.patron = p.patron AND r.id = p.record_id AND r.version = p.version)
            """).map {
            PendingShred(record: RecordID(bytes: Array($0[0] as Data)), patron: PatronPseudonym(bytes: Array($0[1] as Data)), version: $0[2], tag: [])
        }
        let statement = try db.cachedStatement(sql: "UPDATE pending_shred SET tag = ? WHERE record_id = ? AND version = ?")
        for shred in untagged { try statement.execute(arguments: [Data(tag(shred)), Data(shred.record.bytes), shred.version]) }
    }

    // MARK: PIN attempts

    func pinAttempt(patron: PatronPseudonym) throws -> PINAttempt? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT failures, locked_until FROM pin_attempt WHERE pseudonym = ?"), arguments: [Data(patron.bytes)])
            .map { PINAttempt(failures: $0["failures"], lockedUntil: ($0["locked_until"] as Int64?).map(Self.date(millis:))) }
    }

    func setPINAttempt(patron: PatronPseudonym, _ attempt: PINAttempt, on day: CalendarDay) throws {
        try db.cachedStatement(sql: """
            INSERT INTO pin_attempt(pseudonym, failures, locked_until, last_failure_day) VALUES (?, ?, ?, ?)
            ON CONFLICT(pseudonym) DO UPDATE SET
                failures = excluded.failures, locked_until = excluded.locked_until, last_failure_day = excluded.last_failure_day
            """).execute(arguments: [Data(patron.bytes), attempt.failures, attempt.lockedUntil.map(Self.millis), day.daysSinceEpoch])
    }

    func clearPINAttempts(patron: PatronPseudonym) throws {
        try db.cachedStatement(sql: "DELETE FROM pin_attempt WHERE pseudonym = ?").execute(arguments: [Data(patron.bytes)])
    }

    // MARK: Staff

    private static let staffColumns = "id, name, role, token_hash, created_at, revoked_at, remote_only"

    func staff(tokenHash: [UInt8]) throws -> StaffRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.staffColumns) FROM staff WHERE token_hash = ?"), arguments: [Data(tokenHash)])
            .map { try Self.staffRow($0) }
    }

    func staff(named name: String) throws -> StaffRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.staffColumns) FROM staff WHERE name = ?"), arguments: [name])
            .map { try Self.staffRow($0) }
    }

    func allStaff() throws -> [StaffRow] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.staffColumns) FROM staff ORDER BY name")).map { try Self.staffRow($0) }
    }

    func insertStaff(_ account: StaffAccount, tokenHash: [UInt8]) throws {
        try unique { try insertStaffRow(account, tokenHash: tokenHash) }
    }

    private func insertStaffRow(_ account: StaffAccount, tokenHash: [UInt8]) throws {
        try db.execute(
            sql: "INSERT INTO staff(id, name, role, token_hash, created_at, remote_only) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [account.id, account.name, account.role.rawValue, Data(tokenHash), Self.millis(account.createdAt), account.remoteOnly])
    }

    func revokeStaff(id: String, at time: Date) throws {
        try db.execute(sql: "UPDATE staff SET revoked_at = ? WHERE id = ?", arguments: [Self.millis(time), id])
    }

    // MARK: Legal orders

    func insertLegalOrder(_ order: StoredLegalOrder) throws {
        try db.execute(
            sql: "INSERT INTO legal_order(id, patron, sealed) VALUES (?, ?, ?)", arguments: [order.id, Data(order.patron.bytes), Data(order.sealed)])
    }

    func replaceLegalOrder(_ order: StoredLegalOrder) throws {
        try db.execute(sql: "UPDATE legal_order SET sealed = ? WHERE id = ? AND patron = ?", arguments: [Data(order.sealed), order.id, Data(order.patron.bytes)])
        guard db.changesCount == 1 else { throw VaultError.integrity }
    }

    func legalOrder(id: String) throws -> StoredLegalOrder? {
        try Row.fetchOne(db, sql: "SELECT id, patron, sealed FROM legal_order WHERE id = ?", arguments: [id]).map(Self.legalOrder)
    }

    func legalOrders(patron: PatronPseudonym?) throws -> [StoredLegalOrder] {
        if let patron {
            return try Row.fetchAll(db, sql: "SELECT id, patron, sealed FROM legal_order WHERE patron = ? ORDER BY id", arguments: [Data(patron.bytes)])
                .map(Self.legalOrder)
        }
        return try Row.fetchAll(db, sql: "SELECT id, patron, sealed FROM legal_order ORDER BY id").map(Self.legalOrder)
    }

    private static func legalOrder(_ row: Row) -> StoredLegalOrder {
        StoredLegalOrder(id: row[0], patron: PatronPseudonym(bytes: Array(row[1] as Data)), sealed: Array(row[2] as Data))
    }

    // MARK: Statistics

    func countReturn(item: String, branch: String, month: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO circulation_stat(item_barcode, branch, month, returns) VALUES (?, ?, ?, 1)
            ON CONFLICT(item_barcode, branch, month) DO UPDATE SET returns = returns + 1
            """).execute(arguments: [item, branch, month])
    }

    func statistics() throws -> [CirculationStatistic] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT item_barcode, branch, month, returns FROM circulation_stat ORDER BY month, branch, item_barcode")).map {
            CirculationStatistic(itemBarcode: $0["item_barcode"], branch: $0["branch"], month: $0["month"], returns: $0["returns"])
        }
    }

    // MARK: Audit trail

    func appendAudit(_ draft: AuditDraft, to trail: AuditTrail) throws {
        try trail.append(draft, in: db)
    }

    func appendAudit(_ drafts: [AuditDraft], to trail: AuditTrail) throws {
        try trail.append(drafts, in: db)
    }

    func signAuditCheckpoint(_ trail: AuditTrail, at time: Date) throws -> AuditCheckpoint {
        try trail.checkpoint(at: time, in: db)
    }

    func auditEntries(_ query: AuditQuery) throws -> [AuditEntry] {
        try query.entries(in: db)
    }

    func auditPatrons(touchedBy principalID: String, since: Date?, until: Date?) throws -> [String] {
        try AuditExposure.patrons(touchedBy: principalID, since: since, until: until, in: db)
    }

    func auditPatrons(keyVersion: Int, since: Date?, until: Date?) throws -> [String] {
        try AuditExposure.patrons(keyVersion: keyVersion, since: since, until: until, in: db)
    }

    func verifyAudit(with verifier: AuditVerifier, against checkpoint: AuditCheckpoint?) throws -> AuditVerification {
        try verifier.verify(db, against: checkpoint)
    }

    /// A savepoint through prepared statements: GRDB's `inSavepoint` compiles its statements on
    /// every call, and every operation passes here.
    func undoable<T>(_ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "SAVEPOINT operation").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT operation").execute()
            return result
        } catch {
            try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT operation").execute()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT operation").execute()
            throw error
        }
    }
}
