import Foundation
import PatronVaultAudit
@testable import PatronVaultCore

/// A record store that delegates to a real one, but whose transactions fail to insert records:
/// a disk that fills up, or a constraint that trips, half-way through an operation.
struct FailingRecordStore: RecordStore {
    /// How inserting records fails.
    enum Failure: Sendable, CaseIterable {
        /// A storage error: the whole transaction rolls back.
        case storage
        /// An outcome the gate records (as a unique constraint gives): the transaction commits
        /// its audit entry and undoes only the operation.
        case outcome
    }

    struct InjectedFailure: Error {}

    let base: any RecordStore
    let failure: Failure

    func write<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordTransaction) throws -> T) async throws -> T {
        let failure = failure
        return try await base.write(pass) { transaction in try body(FailingTransaction(base: transaction, failure: failure)) }
    }

    func write<T: Sendable>(
        _ pass: GatePass, committingAfter prerequisite: @escaping @Sendable () async throws -> Void,
        _ body: @escaping @Sendable (any RecordTransaction) throws -> T
    ) async throws -> T {
        let failure = failure
        return try await base.write(pass, committingAfter: prerequisite) { transaction in
            try body(FailingTransaction(base: transaction, failure: failure))
        }
    }

    func read<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T {
        try await base.read(pass, body)
    }

    func holdingWriteLock<T: Sendable>(_ body: @escaping @Sendable (any RecordInventory) throws -> T) async throws -> T {
        try await base.holdingWriteLock(body)
    }
    func pendingShreds() async throws -> [PendingShred] { try await base.pendingShreds() }
    func clearShreds(_ done: [PendingShred]) async throws { try await base.clearShreds(done) }
    func purgeResidue() async throws -> Bool { try await base.purgeResidue() }
    func close() async throws { try await base.close() }
}

/// Delegates every call to the real transaction, except inserting records.
struct FailingTransaction: RecordTransaction {
    let base: any RecordTransaction
    let failure: FailingRecordStore.Failure

    func patron(cardIndex: [UInt8]) throws -> PatronRow? { try base.patron(cardIndex: cardIndex) }
    func patron(pseudonym: PatronPseudonym) throws -> PatronRow? { try base.patron(pseudonym: pseudonym) }
    func patrons(emailIndex: [UInt8]) throws -> [PatronRow] { try base.patrons(emailIndex: emailIndex) }
    func patrons(nameIndex: [UInt8]) throws -> [PatronRow] { try base.patrons(nameIndex: nameIndex) }
    func record(id: RecordID, patron: PatronPseudonym) throws -> SealedRecord? { try base.record(id: id, patron: patron) }
    func records(patron: PatronPseudonym, kind: RecordKind, state: RecordState) throws -> [SealedRecord] {
        try base.records(patron: patron, kind: kind, state: state)
    }
    func records(patron: PatronPseudonym) throws -> [SealedRecord] { try base.records(patron: patron) }
    func recordHeaders(patron: PatronPseudonym) throws -> [SealedRecord] { try base.recordHeaders(patron: patron) }
    func pendingShreds(patron: PatronPseudonym) throws -> [PendingShred] { try base.pendingShreds(patron: patron) }
    func openLoan(itemIndex: [UInt8]) throws -> OpenLoanRow? { try base.openLoan(itemIndex: itemIndex) }
    func pinAttempt(patron: PatronPseudonym) throws -> PINAttempt? { try base.pinAttempt(patron: patron) }
    func staff(tokenHash: [UInt8]) throws -> StaffRow? { try base.staff(tokenHash: tokenHash) }
    func staff(named name: String) throws -> StaffRow? { try base.staff(named: name) }
    func allStaff() throws -> [StaffRow] { try base.allStaff() }
    func statistics() throws -> [CirculationStatistic] { try base.statistics() }
    func dueLoanCount(_ state: RecordState, onOrBefore day: CalendarDay) throws -> (records: Int, patrons: Int) { try base.dueLoanCount(state, onOrBefore: day) }
    func patronsWithDueLoans(_ state: RecordState, onOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(patron: PatronPseudonym, due: Int)] {
        try base.patronsWithDueLoans(state, onOrBefore: day, after: cursor, limit: limit)
    }
    func expiredPatrons(expiredOnOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(row: PatronRow, expires: CalendarDay)] {
        try base.expiredPatrons(expiredOnOrBefore: day, after: cursor, limit: limit)
    }
    func recordCount(patron: PatronPseudonym) throws -> Int { try base.recordCount(patron: patron) }
    func loansKeepingAccount(patron: PatronPseudonym) throws -> Int { try base.loansKeepingAccount(patron: patron) }
    func lastActivity(of patron: PatronPseudonym) throws -> Date? { try base.lastActivity(of: patron) }
    func signInFailureCount(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int { try base.signInFailureCount(lastOnOrBefore: day, now: now) }
    func monthlyStatisticCount(before month: String) throws -> Int { try base.monthlyStatisticCount(before: month) }
    func retentionProgress() throws -> [RetentionProgress] { try base.retentionProgress() }
    func forgetSignInFailures(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int { try base.forgetSignInFailures(lastOnOrBefore: day, now: now) }
    func coarsenStatistics(before month: String) throws -> Int { try base.coarsenStatistics(before: month) }
    func saveRetentionProgress(_ progress: [RetentionProgress]) throws { try base.saveRetentionProgress(progress) }
    func clearShreds(_ done: [PendingShred]) throws { try base.clearShreds(done) }
    func auditEntries(_ query: AuditQuery) throws -> [AuditEntry] { try base.auditEntries(query) }
    func auditPatrons(touchedBy principalID: String, since: Date?, until: Date?) throws -> [String] {
        try base.auditPatrons(touchedBy: principalID, since: since, until: until)
    }
    func auditPatrons(keyVersion: Int, since: Date?, until: Date?) throws -> [String] {
        try base.auditPatrons(keyVersion: keyVersion, since: since, until: until)
    }
    func verifyAudit(with verifier: AuditVerifier, against checkpoint: AuditCheckpoint?) throws -> AuditVerification {
        try base.verifyAudit(with: verifier, against: checkpoint)
    }

    func insert(_ patron: NewPatronRow) throws { try base.insert(patron) }
    func updateIndexes(of patron: PatronPseudonym, emailIndex: [UInt8], nameIndex: [UInt8], expires: CalendarDay?) throws {
        try base.updateIndexes(of: patron, emailIndex: emailIndex, nameIndex: nameIndex, expires: expires)
    }
    func insert(_ records: [NewRecord]) throws {
        switch failure {
        case .storage: throw FailingRecordStore.InjectedFailure()
        case .outcome: throw VaultError(.alreadyExists, "injected: a record with that id already exists")
        }
    }
    func replaceSealed(_ old: SealedRecord, patron: PatronPseudonym, sealed: [UInt8], version: Int64, shredTag: [UInt8]) throws {
        try base.replaceSealed(old, patron: patron, sealed: sealed, version: version, shredTag: shredTag)
    }
    func closeLoan(
        _ old: SealedRecord, patron: PatronPseudonym, state: RecordState, on day: CalendarDay, settled: CalendarDay?, sealed: [UInt8], version: Int64,
        shredTag: [UInt8]
    ) throws {
        try base.closeLoan(old, patron: patron, state: state, on: day, settled: settled, sealed: sealed, version: version, shredTag: shredTag)
    }
    func deleteQueueingShred(_ record: SealedRecord, patron: PatronPseudonym, shredTag: [UInt8]) throws {
        try base.deleteQueueingShred(record, patron: patron, shredTag: shredTag)
    }
    func deleteQueueingShreds(_ rows: [(record: SealedRecord, shredTag: [UInt8])], patron: PatronPseudonym, selection: RecordSelection) throws {
        try base.deleteQueueingShreds(rows, patron: patron, selection: selection)
    }
    func setHistoryKeep(of patron: PatronPseudonym, _ keep: Bool) throws { try base.setHistoryKeep(of: patron, keep) }
    func deletePatron(_ patron: PatronPseudonym) throws { try base.deletePatron(patron) }
    func setPINAttempt(patron: PatronPseudonym, _ attempt: PINAttempt, on day: CalendarDay) throws { try base.setPINAttempt(patron: patron, attempt, on: day) }
    func clearPINAttempts(patron: PatronPseudonym) throws { try base.clearPINAttempts(patron: patron) }
    func insertStaff(_ account: StaffAccount, tokenHash: [UInt8]) throws { try base.insertStaff(account, tokenHash: tokenHash) }
    func revokeStaff(id: String, at time: Date) throws { try base.revokeStaff(id: id, at: time) }
    func insertLegalOrder(_ order: StoredLegalOrder) throws { try base.insertLegalOrder(order) }
    func replaceLegalOrder(_ order: StoredLegalOrder) throws { try base.replaceLegalOrder(order) }
    func legalOrder(id: String) throws -> StoredLegalOrder? { try base.legalOrder(id: id) }
    func legalOrders(patron: PatronPseudonym?) throws -> [StoredLegalOrder] { try base.legalOrders(patron: patron) }
    func countReturn(item: String, branch: String, month: String) throws { try base.countReturn(item: item, branch: branch, month: month) }
    func appendAudit(_ draft: AuditDraft, to trail: AuditTrail) throws { try base.appendAudit(draft, to: trail) }
    func appendAudit(_ drafts: [AuditDraft], to trail: AuditTrail) throws { try base.appendAudit(drafts, to: trail) }
    func signAuditCheckpoint(_ trail: AuditTrail, at time: Date) throws -> AuditCheckpoint { try base.signAuditCheckpoint(trail, at: time) }
    func undoable<T>(_ body: () throws -> T) throws -> T { try base.undoable(body) }
}
