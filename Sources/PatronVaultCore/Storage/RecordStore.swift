import Foundation
import PatronVaultAudit

/// Where sealed records, blind indexes, staff accounts and the audit trail live (`vault.db` in
/// the embedded SQLite default). Its entry points are async so a server's request handlers can
/// wait on the store without holding a thread; a transaction body is synchronous and runs on the
/// store's own thread, off the cooperative pool.
///
/// Only the gate holds a `GatePass`, so only the gate can open a transaction that reads or
/// changes patron data: every such transaction starts with a recorded policy decision.
package protocol RecordStore: Sendable {
    /// One immediate write transaction: everything in it commits together or not at all.
    func write<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordTransaction) throws -> T) async throws -> T

    /// A write transaction that commits only after `prerequisite` has finished, which runs
    /// concurrently with `body`; if it fails, the transaction rolls back. How bulk writes commit
    /// their keys in the key store while their records are written.
    func write<T: Sendable>(
        _ pass: GatePass, committingAfter prerequisite: @escaping @Sendable () async throws -> Void,
        _ body: @escaping @Sendable (any RecordTransaction) throws -> T
    ) async throws -> T

    /// A read-only snapshot on a reader connection, so a long read (an audit verification) never
    /// holds up writers.
    func read<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T

    /// A read expected to need one statement (a lookup by card): a server store may run it
    /// without a transaction, as one statement is its own snapshot, and run it again in a
    /// snapshot if it needs more.
    func readLookup<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T

    /// The staff row a token hash names: the read every daemon request makes first. One row,
    /// so a store on a server reads it in one statement rather than a snapshot of its own.
    func staffRow(_ pass: GatePass, tokenHash: [UInt8]) async throws -> StaffRow?

    /// Runs `body` holding the write lock: no writer, in any process, can then be between
    /// committing keys and committing the records that need them. `body` sees only which
    /// records and patrons exist, never their contents.
    func holdingWriteLock<T: Sendable>(_ body: @escaping @Sendable (any RecordInventory) throws -> T) async throws -> T

    /// Records removed whose keys are still to be destroyed.
    func pendingShreds() async throws -> [PendingShred]

    /// Forgets shreds whose keys are gone, residue included.
    func clearShreds(_ done: [PendingShred]) async throws

    /// Rewrites the store so no copy of deleted rows stays in a journal (the SQLite WAL);
    /// returns false when a reader kept it alive, to be retried later.
    func purgeResidue() async throws -> Bool

    /// Closes every connection; later calls fail.
    func close() async throws

    /// Whether a lookup reads on a reader snapshot and takes the write lock only to append its
    /// entries. Worth it where each read under the lock is a network round trip (a server
    /// store); the embedded store reads in microseconds and keeps its lookups under the lock.
    var readsLookupsOnSnapshots: Bool { get }
}

/// What an operation may read inside a transaction: records, and the audit trail kept beside
/// them (it must commit in the same transaction as the changes it accounts for).
package protocol RecordReader: AuditReader {
    /// How many committed transactions have changed rows, as this snapshot or transaction sees
    /// it (its own changes counting as one more): a lookup read on a snapshot is appended as
    /// read only while the writer sees the same mark, so nothing changed between the two.
    /// Nil where no mark is kept.
    func changeMark() throws -> Int64?

    func patron(cardIndex: [UInt8]) throws -> PatronRow?
    func patron(pseudonym: PatronPseudonym) throws -> PatronRow?
    func patrons(emailIndex: [UInt8]) throws -> [PatronRow]
    func patrons(nameIndex: [UInt8]) throws -> [PatronRow]

    func record(id: RecordID, patron: PatronPseudonym) throws -> SealedRecord?
    func records(patron: PatronPseudonym, kind: RecordKind, state: RecordState) throws -> [SealedRecord]
    /// Every record row of a patron: what a read checks against the patron's record set.
    func records(patron: PatronPseudonym) throws -> [SealedRecord]
    /// Every record row of a patron without its sealed bytes (left empty, so opening one fails
    /// authentication): for a check and a deletion that open nothing, such as a purge of a long
    /// history, which would otherwise copy every sealed loan out of the database for nothing.
    func recordHeaders(patron: PatronPseudonym) throws -> [SealedRecord]
    /// A patron's queued shreds: records removed whose keys (and elements) are still stored.
    func pendingShreds(patron: PatronPseudonym) throws -> [PendingShred]
    func openLoan(itemIndex: [UInt8]) throws -> OpenLoanRow?

    func pinAttempt(patron: PatronPseudonym) throws -> PINAttempt?

    /// Staff rows as stored; the gate checks each against its seal before it is believed.
    func staff(tokenHash: [UInt8]) throws -> StaffRow?
    func staff(named name: String) throws -> StaffRow?
    func allStaff() throws -> [StaffRow]

    func statistics() throws -> [CirculationStatistic]

    // Retention: plaintext columns choose the candidates, sealed data and the trail decide.
    /// Returned loans in `state` (closed history counted from its return day, held loans from
    /// the day their fee was settled) whose day is on or before `day`, and their patrons.
    func dueLoanCount(_ state: RecordState, onOrBefore day: CalendarDay) throws -> (records: Int, patrons: Int)
    /// Patrons after `cursor`, in pseudonym order, with how many returned loans in `state` are due.
    func patronsWithDueLoans(_ state: RecordState, onOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(patron: PatronPseudonym, due: Int)]
    func expiredPatrons(expiredOnOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(row: PatronRow, expires: CalendarDay)]
    func recordCount(patron: PatronPseudonym) throws -> Int
    /// Loans out, and held loans whose settlement column is empty (a fee owed): what keeps an
    /// expired account from a dry run's count. The erasure itself decides from sealed data.
    func loansKeepingAccount(patron: PatronPseudonym) throws -> Int
    func lastActivity(of patron: PatronPseudonym) throws -> Date?
    func signInFailureCount(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int
    func monthlyStatisticCount(before month: String) throws -> Int
    func retentionProgress() throws -> [RetentionProgress]
}

/// What an operation may change inside a write transaction. Deleting a record and queueing its
/// key's shred are one call, so no record leaves without its key being scheduled to go.
package protocol RecordTransaction: RecordReader, AuditLedger {
    func insert(_ patron: NewPatronRow) throws
    func updateIndexes(of patron: PatronPseudonym, emailIndex: [UInt8], nameIndex: [UInt8], expires: CalendarDay?) throws

    func insert(_ records: [NewRecord]) throws
    /// Stores the next version of a record and queues the shred of the old version's key, in
    /// one call: no changed record keeps the key of its earlier copies.
    func replaceSealed(_ old: SealedRecord, patron: PatronPseudonym, sealed: [UInt8], version: Int64, shredTag: [UInt8]) throws
    /// Stores a returned loan's next version as `state` (closed history, or held for a fee),
    /// returned on `day` and, for a held loan whose fee is settled, settled on `settled`.
    func closeLoan(
        _ old: SealedRecord, patron: PatronPseudonym, state: RecordState, on day: CalendarDay, settled: CalendarDay?, sealed: [UInt8], version: Int64,
        shredTag: [UInt8]
    ) throws
    func deleteQueueingShred(_ record: SealedRecord, patron: PatronPseudonym, shredTag: [UInt8]) throws
    /// Deletes, in one statement, every row of `patron` in `selection`, queueing each one's shred
    /// with its tag. `rows` must be exactly the rows the selection matches, read and checked in
    /// this transaction; when the count differs nothing is deleted and it fails as an integrity
    /// error.
    func deleteQueueingShreds(_ rows: [(record: SealedRecord, shredTag: [UInt8])], patron: PatronPseudonym, selection: RecordSelection) throws

    /// Records the history preference beside the sealed one, which a return checks it against.
    func setHistoryKeep(of patron: PatronPseudonym, _ keep: Bool) throws
    /// Removes a patron's row, and with it every blind index that could find them (card, email,
    /// name); their records must already be deleted, each with its shred queued.
    func deletePatron(_ patron: PatronPseudonym) throws
    /// `day` is the failed attempt's, so the retention schedule can forget the count later.
    func setPINAttempt(patron: PatronPseudonym, _ attempt: PINAttempt, on day: CalendarDay) throws
    func clearPINAttempts(patron: PatronPseudonym) throws

    func insertStaff(_ account: StaffAccount, tokenHash: [UInt8]) throws
    func revokeStaff(id: String, at time: Date) throws

    /// Legal orders, sealed: stored, replaced as they move on (approved, disclosed), and read by
    /// id or by patron (all when `patron` is nil).
    func insertLegalOrder(_ order: StoredLegalOrder) throws
    func replaceLegalOrder(_ order: StoredLegalOrder) throws
    func legalOrder(id: String) throws -> StoredLegalOrder?
    func legalOrders(patron: PatronPseudonym?) throws -> [StoredLegalOrder]

    func countReturn(item: String, branch: String, month: String) throws

    func forgetSignInFailures(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int
    func coarsenStatistics(before month: String) throws -> Int
    /// Replaces the unfinished run's progress (an empty list ends the run).
    func saveRetentionProgress(_ progress: [RetentionProgress]) throws
    /// Forgets queued shreds whose keys are destroyed, inside a transaction doing other work.
    func clearShreds(_ done: [PendingShred]) throws

    /// Runs `body` so that a failure undoes only what it changed; what the transaction did
    /// before (the gate's audit entries) stays.
    func undoable<T>(_ body: () throws -> T) throws -> T
}

/// Which patrons and records exist, for finding keys that belong to nothing.
package protocol RecordInventory {
    /// Pins the whole store, as committed, for a new file at `path`: taken under the write lock,
    /// so no change lands between this store's snapshot and the key store's.
    func backupSnapshot(to path: String) throws -> any BackupSnapshot
    /// Patron rows, record rows, and records removed whose keys are queued for shredding.
    func counts() throws -> (patrons: Int, records: Int, pendingShreds: Int)
    /// Every patron (with a row, or named by a record or queued shred), and every record (removed
    /// ones still queued for shredding included).
    func owners() throws -> KeyOwners
    /// One record's row, to settle a key a crashed writer left unsettled.
    func record(id: RecordID, patron: PatronPseudonym) throws -> SealedRecord?
    /// Every record row's version, kind and state: what a vault made before record sets is
    /// upgraded from.
    func recordVersions() throws -> [RecordVersion]
    /// Every staff row, to seal those of a vault made before seals existed.
    func allStaff() throws -> [StaffRow]
    /// Tags queued shreds of a vault made before tags existed.
    func tagUntaggedShreds(_ tag: (PendingShred) -> [UInt8]) throws
}

/// A record version with the plaintext columns its element binds.
package struct RecordVersion: Sendable {
    package let owner: RecordOwner
    package let kind: RecordKind
    package let state: RecordState

    package init(owner: RecordOwner, kind: RecordKind, state: RecordState) {
        self.owner = owner
        self.kind = kind
        self.state = state
    }
}

/// Which of a patron's rows a bulk deletion removes.
package enum RecordSelection: Sendable {
    /// Every row: an erasure.
    case all
    /// Returned loans: a purge of the whole history.
    case closedLoans

    package func matches(_ record: SealedRecord) -> Bool {
        switch self {
        case .all: true
        case .closedLoans: record.kind == .loan && record.state == .closed
        }
    }
}

extension RecordStore {
    package func readLookup<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T {
        try await read(pass, body)
    }

    package func staffRow(_ pass: GatePass, tokenHash: [UInt8]) async throws -> StaffRow? {
        try await read(pass) { reader in try reader.staff(tokenHash: tokenHash) }
    }
}
