import Foundation
import PatronVaultAudit
@testable import PatronVaultCore

/// A record store that delegates to a real one, but whose transactions fail to insert records:
/// a disk that fills up, or a constraint that trips, half-way through an operation.
struct FailingRecordStore: RecordStoreWrapper {
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
}

/// A record store wrapping a real one, handing on every call it does not change itself.
protocol RecordStoreWrapper: RecordStore {
    var base: any RecordStore { get }
}

extension RecordStoreWrapper {
    func staffRow(_ pass: GatePass, tokenHash: [UInt8]) async throws -> StaffRow? { try await base.staffRow(pass, tokenHash: tokenHash) }
    func holdingWriteLock<T: Sendable>(_ body: @escaping @Sendable (any RecordInventory) throws -> T) async throws -> T {
        try await base.holdingWriteLock(body)
    }
    func pendingShreds() async throws -> [PendingShred] { try await base.pendingShreds() }
    func clearShreds(_ done: [PendingShred]) async throws { try await base.clearShreds(done) }
    func purgeResidue() async throws -> Bool { try await base.purgeResidue() }
    func close() async throws { try await base.close() }
    var readsLookupsOnSnapshots: Bool { base.readsLookupsOnSnapshots }
}

/// Delegates every call to the real transaction, except inserting records.
struct FailingTransaction: RecordTransaction, RecordReaderForwarding {
    let base: any RecordTransaction
    let failure: FailingRecordStore.Failure

    var forwardedReader: any RecordReader { base }

    func forgetSignInFailures(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int { try base.forgetSignInFailures(lastOnOrBefore: day, now: now) }
    func coarsenStatistics(before month: String) throws -> Int { try base.coarsenStatistics(before: month) }
    func saveRetentionProgress(_ progress: [RetentionProgress]) throws { try base.saveRetentionProgress(progress) }
    func clearShreds(_ done: [PendingShred]) throws { try base.clearShreds(done) }

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
