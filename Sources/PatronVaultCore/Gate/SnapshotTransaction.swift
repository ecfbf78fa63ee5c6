import Foundation
import PatronVaultAudit

/// A lookup's transaction on a reader snapshot: it reads what the snapshot holds, keeps the
/// entries the gate appends until the writer can add them to the trail, and refuses every change.
/// On a server store a lookup then holds the vault's write lock only for its entries, not for
/// its reads (`Gate.write(_:_:subject:storingKeys:readsOnly:_:)`). A body that tries to change a
/// row, or reads what a snapshot cannot vouch for at the entry's place in the trail (the trail
/// itself, which grows with every lookup without a change being counted, and legal orders),
/// fails here, and the gate runs it again under the write lock.
final class SnapshotTransaction: RecordTransaction, RecordReaderForwarding {
    let forwardedReader: any RecordReader
    /// The entries appended so far, in order, for the writer to append after the reads.
    private(set) var drafts: [AuditDraft] = []

    init(_ base: any RecordReader) {
        forwardedReader = base
    }

    /// What a body asked cannot be answered on a snapshot; the gate runs it under the lock.
    struct NeedsWriteLock: Error {}

    func auditEntries(_ query: AuditQuery) throws -> [AuditEntry] { throw NeedsWriteLock() }
    func auditPatrons(touchedBy principalID: String, since: Date?, until: Date?) throws -> [String] { throw NeedsWriteLock() }
    func auditPatrons(keyVersion: Int, since: Date?, until: Date?) throws -> [String] { throw NeedsWriteLock() }
    func verifyAudit(with verifier: AuditVerifier, against checkpoint: AuditCheckpoint?) throws -> AuditVerification { throw NeedsWriteLock() }
    func lastActivity(of patron: PatronPseudonym) throws -> Date? { throw NeedsWriteLock() }

    func appendAudit(_ draft: AuditDraft, to trail: AuditTrail) throws { drafts.append(draft) }
    func appendAudit(_ drafts: [AuditDraft], to trail: AuditTrail) throws { self.drafts += drafts }

    /// Undoes the entries `body` appended if it fails; a snapshot holds nothing else to undo.
    func undoable<T>(_ body: () throws -> T) throws -> T {
        let kept = drafts.count
        do {
            return try body()
        } catch {
            drafts.removeSubrange(kept...)
            throw error
        }
    }

    func signAuditCheckpoint(_ trail: AuditTrail, at time: Date) throws -> AuditCheckpoint { throw NeedsWriteLock() }
    func insert(_ patron: NewPatronRow) throws { throw NeedsWriteLock() }
    func updateIndexes(of patron: PatronPseudonym, emailIndex: [UInt8], nameIndex: [UInt8], expires: CalendarDay?) throws { throw NeedsWriteLock() }
    func insert(_ records: [NewRecord]) throws { throw NeedsWriteLock() }
    func replaceSealed(_ old: SealedRecord, patron: PatronPseudonym, sealed: [UInt8], version: Int64, shredTag: [UInt8]) throws { throw NeedsWriteLock() }
    func closeLoan(
        _ old: SealedRecord, patron: PatronPseudonym, state: RecordState, on day: CalendarDay, settled: CalendarDay?, sealed: [UInt8], version: Int64,
        shredTag: [UInt8]
    ) throws {
        throw NeedsWriteLock()
    }
    func deleteQueueingShred(_ record: SealedRecord, patron: PatronPseudonym, shredTag: [UInt8]) throws { throw NeedsWriteLock() }
    func deleteQueueingShreds(_ rows: [(record: SealedRecord, shredTag: [UInt8])], patron: PatronPseudonym, selection: RecordSelection) throws {
        throw NeedsWriteLock()
    }
    func setHistoryKeep(of patron: PatronPseudonym, _ keep: Bool) throws { throw NeedsWriteLock() }
    func deletePatron(_ patron: PatronPseudonym) throws { throw NeedsWriteLock() }
    func setPINAttempt(patron: PatronPseudonym, _ attempt: PINAttempt, on day: CalendarDay) throws { throw NeedsWriteLock() }
    func clearPINAttempts(patron: PatronPseudonym) throws { throw NeedsWriteLock() }
    func insertStaff(_ account: StaffAccount, tokenHash: [UInt8]) throws { throw NeedsWriteLock() }
    func revokeStaff(id: String, at time: Date) throws { throw NeedsWriteLock() }
    func insertLegalOrder(_ order: StoredLegalOrder) throws { throw NeedsWriteLock() }
    func replaceLegalOrder(_ order: StoredLegalOrder) throws { throw NeedsWriteLock() }
    func legalOrder(id: String) throws -> StoredLegalOrder? { throw NeedsWriteLock() }
    func legalOrders(patron: PatronPseudonym?) throws -> [StoredLegalOrder] { throw NeedsWriteLock() }
    func countReturn(item: String, branch: String, month: String) throws { throw NeedsWriteLock() }
    func forgetSignInFailures(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int { throw NeedsWriteLock() }
    func coarsenStatistics(before month: String) throws -> Int { throw NeedsWriteLock() }
    func saveRetentionProgress(_ progress: [RetentionProgress]) throws { throw NeedsWriteLock() }
    func clearShreds(_ done: [PendingShred]) throws { throw NeedsWriteLock() }
}
