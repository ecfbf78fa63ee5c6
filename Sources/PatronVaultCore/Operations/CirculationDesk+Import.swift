import Dispatch
import Foundation
import Synchronization

/// One patron and their loans as another library system exports them, for migrating in bulk.
public struct PatronImport: Sendable {
    public var registration: PatronRegistration
    /// Open loans, and returned loans only for patrons who keep history.
    public var loans: [Loan]

    public init(registration: PatronRegistration, loans: [Loan] = []) {
        self.registration = registration
        self.loans = loans
    }
}

extension CirculationDesk {
    /// Imports a batch of patrons with their loans, all or nothing: every record sealed under its
    /// own random key by the same `OperationKeys` as one-by-one registration, but without an
    /// Argon2id PIN hash per patron (imported patrons get a PIN from staff later). The import is
    /// decided before any sealing, sealing runs on every core outside the write lock, and each
    /// patron's registration is on record against the patron it created.
    ///
    /// Returns the number of records written (registrations plus loans).
    @discardableResult
    public func importPatrons(_ batch: [PatronImport], by principal: Principal) async throws(VaultError) -> Int {
        guard !batch.isEmpty else { return 0 }
        let today = CalendarDay(gate.clock.now())
        var prepared: [PatronImport] = []
        prepared.reserveCapacity(batch.count)
        for (position, entry) in batch.enumerated() {
            do {
                prepared.append(try Self.validated(entry, today: today))
            } catch {
                throw VaultError(error.kind, "patron \(position + 1) of the batch: \(error.message)")
            }
        }
        let requests = [AccessRequest(.patronRegister, .registration)]
        try await gate.precheck(principal, requests)
        let ring = gate.ring
        let pool = gate.slots
        let pipeline = ImportPipeline(prepared, chunkSize: Self.importChunk) { chunk throws(VaultError) in
            try Self.sealOnAllCores(chunk, ring: ring, pool: pool)
        }
        let chunks = pipeline.chunkCount
        return try await gate.write(principal, requests, storingKeys: { writer in
            for index in 0..<chunks { try await writer.insert(try await pipeline.keys(index)) }
        }) { tx in
            var written = 0
            for index in 0..<chunks {
                let share = try pipeline.share(index)
                for patron in share.patrons { try tx.authorize(about: patron.pseudonym) }
                try tx.store(patrons: share.patrons, records: share.records)
                written += share.records.count
            }
            return written
        }
    }

    /// Patrons sealed per chunk of a pipelined import: large enough that each chunk's key-store
    /// commit and hand-over cost little, small enough that writing starts early.
    static let importChunk = 1_000

    /// One imported patron, normalised and checked like a registration at the desk.
    private static func validated(_ entry: PatronImport, today: CalendarDay) throws(VaultError) -> PatronImport {
        var registration = try PatronRegistration.validated(entry.registration, today: today)
        registration.pinHash = nil
        if registration.registeredOn.daysSinceEpoch == 0 { registration.registeredOn = today }
        if registration.history == .discard, entry.loans.contains(where: { $0.returnedAt != nil }) {
            throw VaultError.invalid("keeps no history but has returned loans")
        }
        var loans: [Loan] = []
        for loan in entry.loans {
            var checked = loan
            checked.itemBarcode = try FieldRules.barcode(loan.itemBarcode, field: "item barcode")
            checked.title = try FieldRules.text(loan.title, field: "title")
            checked.author = try FieldRules.optionalText(loan.author, field: "author")
            checked.branch = try FieldRules.text(loan.branch, field: "branch")
            if let returned = loan.returnedAt, returned < loan.checkedOutAt {
                throw VaultError.invalid("a loan is returned before it was checked out")
            }
            guard CalendarDay(loan.checkedOutAt) <= loan.dueOn else { throw VaultError.invalid("a loan is due before it was checked out") }
            loans.append(checked)
        }
        return PatronImport(registration: registration, loans: loans)
    }

    /// Seals a chunk's patrons and loans split across the cores (on the calling thread and
    /// Dispatch's, never the cooperative pool); each worker owns its operation keys.
    private static func sealOnAllCores(_ batch: ArraySlice<PatronImport>, ring: KeyRing, pool: KeySlotPool) throws(VaultError) -> SealedShare {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, batch.count / 64 + 1))
        let perWorker = (batch.count + workers - 1) / workers
        let start = batch.startIndex
        let results = Mutex<[Int: Result<SealedShare, VaultError>]>([:])
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (start + worker * perWorker)..<min(batch.endIndex, start + (worker + 1) * perWorker)
            let share = Result { () throws(VaultError) -> SealedShare in try Self.seal(batch[range], ring: ring, pool: pool) }
            results.withLock { $0[worker] = share }
        }
        var merged = SealedShare()
        for worker in 0..<workers {
            let share = try results.withLock { $0[worker]! }.get()
            merged.keys.patronKeys += share.keys.patronKeys
            merged.keys.recordKeys += share.keys.recordKeys
            merged.patrons += share.patrons
            merged.records += share.records
        }
        return merged
    }

    private static func seal(_ entries: ArraySlice<PatronImport>, ring: KeyRing, pool: KeySlotPool) throws(VaultError) -> SealedShare {
        let keys = try OperationKeys(ring: ring, pool: pool)
        var share = SealedShare()
        share.patrons.reserveCapacity(entries.count)
        for entry in entries {
            let patron = PatronPseudonym.random()
            let patronKey = keys.newPatronKey(patron)
            let registration = entry.registration
            let registrationID = RecordID.random()
            let (sealedRegistration, registrationKey) = try keys.sealNew(registration.encoded(), kind: .registration, id: registrationID)
            var recordKeys = [registrationKey]
            share.patrons.append(registration.row(pseudonym: patron, registrationID: registrationID, ring: ring))
            share.records.append(NewRecord(
                patron: patron, id: registrationID, kind: .registration, state: .open, itemIndex: nil, openedDay: registration.registeredOn,
                dueDay: nil, closedDay: nil, version: 1, sealed: sealedRegistration))
            for loan in entry.loans {
                let loanID = RecordID.random()
                let closed = loan.returnedAt.map { CalendarDay($0) }
                let (sealedLoan, loanKey) = try keys.sealNew(loan.encoded(), kind: .loan, id: loanID, state: closed == nil ? .open : .closed)
                recordKeys.append(loanKey)
                share.records.append(NewRecord(
                    patron: patron, id: loanID, kind: .loan, state: closed == nil ? .open : .closed,
                    itemIndex: closed == nil ? ring.item.index(of: loan.itemBarcode) : nil, openedDay: CalendarDay(loan.checkedOutAt),
                    dueDay: loan.dueOn, closedDay: closed, version: 1, sealed: sealedLoan))
            }
            share.keys.add(newPatron: patronKey, records: recordKeys)
        }
        return share
    }
}
