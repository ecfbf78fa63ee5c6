import Foundation
import PatronVaultAudit

/// A lookup's transaction on a reader snapshot: it reads what the snapshot holds, keeps the
/// entries the gate appends until the writer can add them to the trail, and refuses every change.
/// On a server store a lookup then holds the vault's write lock only for its entries, not for
/// its reads (`Gate.write(_:_:subject:storingKeys:readsOnly:_:)`). A body that tries to change a
/// row fails here, and the gate runs it again under the write lock.
final class SnapshotTransaction: RecordTransaction, RecordReaderForwarding {
    let forwardedReader: any RecordReader
    /// The entries appended so far, in order, for the writer to append after the reads.
    private(set) var drafts: [AuditDraft] = []

    init(_ base: any RecordReader) {
        forwardedReader = base
    }

    struct ChangeRefused: Error {}

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

    func signAuditCheckpoint(_ trail: AuditTrail, at time: Date) throws -> AuditCheckpoint { throw ChangeRefused() }
    func insert(_ patron: NewPatronRow) throws { throw ChangeRefused() }
    func updateIndexes(of patron: PatronPseudonym, emailIndex: [UInt8], nameIndex: [UInt8], expires: CalendarDay?) throws { throw ChangeRefused() }
    func insert(_ records: [NewRecord]) throws { throw ChangeRefused() }
    func replaceSealed(_ old: SealedRecord, patron: PatronPseudonym, sealed: [UInt8], version: Int64, shredTag: [UInt8]) throws { throw ChangeRefused() }
    func closeLoan(
        _ old: SealedRecord, patron: PatronPseudonym, state: RecordState, on day: CalendarDay, settled: CalendarDay?, sealed: [UInt8], version: Int64,
        shredTag: [UInt8]
    ) throws {
        throw ChangeRefused()
    }
    func deleteQueueingShred(_ record: SealedRecord, patron: PatronPseudonym, shredTag: [UInt8]) throws { throw ChangeRefused() }
    func deleteQueueingShreds(_ rows: [(record: SealedRecord, shredTag: [UInt8])], patron: PatronPseudonym, selection: RecordSelection) throws {
        throw ChangeRefused()
    }
    func setHistoryKeep(of patron: PatronPseudonym, _ keep: Bool) throws { throw ChangeRefused() }
    func deletePatron(_ patron: PatronPseudonym) throws { throw ChangeRefused() }
    func setPINAttempt(patron: PatronPseudonym, _ attempt: PINAttempt, on day: CalendarDay) throws { throw ChangeRefused() }
    func clearPINAttempts(patron: PatronPseudonym) throws { throw ChangeRefused() }
    func insertStaff(_ account: StaffAccount, tokenHash: [UInt8]) throws { throw ChangeRefused() }
    func revokeStaff(id: String, at time: Date) throws { throw ChangeRefused() }
    func insertLegalOrder(_ order: StoredLegalOrder) throws { throw ChangeRefused() }
    func replaceLegalOrder(_ order: StoredLegalOrder) throws { throw ChangeRefused() }
    /// Legal orders are read only in a write transaction, under the write lock.
    func legalOrder(id: String) throws -> StoredLegalOrder? { throw ChangeRefused() }
    func legalOrders(patron: PatronPseudonym?) throws -> [StoredLegalOrder] { throw ChangeRefused() }
    func countReturn(item: String, branch: String, month: String) throws { throw ChangeRefused() }
    func forgetSignInFailures(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int { throw ChangeRefused() }
    func coarsenStatistics(before month: String) throws -> Int { throw ChangeRefused() }
    func saveRetentionProgress(_ progress: [RetentionProgress]) throws { throw ChangeRefused() }
    func clearShreds(_ done: [PendingShred]) throws { throw ChangeRefused() }
}
