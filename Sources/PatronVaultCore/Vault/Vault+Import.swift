import Dispatch
import Foundation
import GRDB
import PatronVaultCrypto

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

/// Rows sealed for one chunk of an import, ready for the two files.
private struct SealedChunk: Sendable {
    var patronKeys: [(Data, Data)] = []
    var recordKeys: [(Data, Data, Data)] = []
    var patrons: [[DatabaseValue]] = []
    var records: [[DatabaseValue]] = []
}

extension Vault {
    /// Imports a batch of patrons with their loans in one transaction per file: every record
    /// sealed under its own random key, exactly as one-by-one registration does, but without an
    /// Argon2id PIN hash per patron (imported patrons get a PIN from staff later). Sealing runs
    /// on every core, and the two files are written in parallel, with the keys committed before
    /// the records that need them.
    ///
    /// Returns the number of records written (registrations plus loans).
    @discardableResult
    public func importPatrons(_ batch: [PatronImport], by principal: Principal) throws(VaultError) -> Int {
        guard !batch.isEmpty else { return 0 }
        var prepared: [PatronImport] = []
        prepared.reserveCapacity(batch.count)
        let today = CalendarDay(now)
        for (position, entry) in batch.enumerated() {
            do {
                prepared.append(try Self.validated(entry, today: today))
            } catch {
                throw VaultError(error.kind, "patron \(position + 1) of the batch: \(error.message)")
            }
        }
        return try gatedWrite { db in
            // Decided before any sealing work, then once per patron so that each registration
            // is on record against the patron it created.
            try authorize(principal, .patronRegister, .registration, in: db)
            let chunks = try seal(prepared)
            for chunk in chunks {
                for (pseudonym, _) in chunk.patronKeys {
                    try authorize(principal, .patronRegister, .registration, patron: PatronPseudonym(bytes: Array(pseudonym)), in: db)
                }
            }
            let keysDone = DispatchSemaphore(value: 0)
            let keysFailure = ImportKeysFailure()
            let keys = storage.keys
            DispatchQueue.global().async {
                do {
                    try keys.write { kdb in
                        let patronKey = try kdb.cachedStatement(sql: "INSERT INTO patron_key(pseudonym, kek_version, wrapped) VALUES (?, ?, ?)")
                        let recordKey = try kdb.cachedStatement(sql: "INSERT INTO record_key(pseudonym, record_id, wrapped) VALUES (?, ?, ?)")
                        for chunk in chunks {
                            for (pseudonym, wrapped) in chunk.patronKeys {
                                try patronKey.execute(arguments: [pseudonym, self.keyRing.kekVersion, wrapped])
                            }
                            for (pseudonym, id, wrapped) in chunk.recordKeys {
                                try recordKey.execute(arguments: [pseudonym, id, wrapped])
                            }
                        }
                    }
                } catch {
                    keysFailure.set(error)
                }
                keysDone.signal()
            }
            do {
                let patron = try db.cachedStatement(sql: """
                    INSERT INTO patron(pseudonym, card_index, email_index, name_index, history_keep, registration_id, registered_day, expires_day)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let record = try db.cachedStatement(sql: """
                    INSERT INTO record(patron, id, kind, state, item_index, opened_day, due_day, closed_day, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for chunk in chunks {
                    for values in chunk.patrons { try patron.execute(arguments: StatementArguments(values)) }
                    for values in chunk.records { try record.execute(arguments: StatementArguments(values)) }
                }
            } catch {
                keysDone.wait()
                removeImportedKeys(chunks)
                throw error
            }
            keysDone.wait()
            if let failure = keysFailure.error {
                removeImportedKeys(chunks)
                throw failure
            }
            return chunks.reduce(0) { $0 + $1.records.count }
        }
    }

    /// One imported patron, normalised and checked like a registration at the desk.
    private static func validated(_ entry: PatronImport, today: CalendarDay) throws(VaultError) -> PatronImport {
        var registration = try validated(entry.registration)
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

    /// Seals every patron and loan, split across the cores; each worker owns its key slots.
    private func seal(_ batch: [PatronImport]) throws(VaultError) -> [SealedChunk] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, batch.count / 64 + 1))
        let perWorker = (batch.count + workers - 1) / workers
        let results = ImportResults(count: workers)
        let kek = keyRing.kek
        let kekVersion = keyRing.kekVersion
        let indexes = (card: keyRing.card, email: keyRing.email, name: keyRing.name, item: keyRing.item)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (worker * perWorker)..<min(batch.count, (worker + 1) * perWorker)
            guard let slots = try? KeySlots() else { return }
            var chunk = SealedChunk()
            chunk.patronKeys.reserveCapacity(range.count)
            for entry in batch[range] {
                let patron = PatronPseudonym.random()
                let owner = Data(patron.bytes)
                slots.patron.randomize()
                chunk.patronKeys.append((owner, Data(kek.wrap(slots.patron, authenticating: RecordAssociatedData.patronKey(patron: patron, kekVersion: kekVersion)))))
                func sealRecord(_ plaintext: [UInt8], kind: RecordKind) -> (id: Data, sealed: Data) {
                    let id = RecordID.random()
                    slots.record.randomize()
                    chunk.recordKeys.append((owner, Data(id.bytes), Data(slots.patron.wrap(slots.record, authenticating: RecordAssociatedData.recordKey(id: id, patron: patron)))))
                    let sealed = XChaCha20Poly1305.seal(plaintext, using: slots.record, authenticating: RecordAssociatedData.bytes(kind: kind, id: id, patron: patron))
                    return (Data(id.bytes), Data(sealed))
                }
                let registration = entry.registration
                let (registrationID, sealedRegistration) = sealRecord(registration.encoded(), kind: .registration)
                chunk.patrons.append([
                    owner.databaseValue, Data(indexes.card.index(of: registration.cardBarcode)).databaseValue,
                    Data(indexes.email.index(of: registration.email)).databaseValue,
                    Data(indexes.name.index(of: FieldRules.normalizedName(registration.fullName))).databaseValue,
                    (registration.history == .keep).databaseValue, registrationID.databaseValue,
                    registration.registeredOn.daysSinceEpoch.databaseValue, registration.cardExpiry?.daysSinceEpoch.databaseValue ?? .null,
                ])
                chunk.records.append([
                    owner.databaseValue, registrationID.databaseValue, RecordKind.registration.rawValue.databaseValue, RecordState.open.rawValue.databaseValue,
                    .null, registration.registeredOn.daysSinceEpoch.databaseValue, .null, .null, sealedRegistration.databaseValue,
                ])
                for loan in entry.loans {
                    let (loanID, sealedLoan) = sealRecord(loan.encoded(), kind: .loan)
                    let closed = loan.returnedAt.map { CalendarDay($0).daysSinceEpoch }
                    chunk.records.append([
                        owner.databaseValue, loanID.databaseValue, RecordKind.loan.rawValue.databaseValue,
                        (closed == nil ? RecordState.open : RecordState.closed).rawValue.databaseValue,
                        closed == nil ? Data(indexes.item.index(of: loan.itemBarcode)).databaseValue : .null,
                        CalendarDay(loan.checkedOutAt).daysSinceEpoch.databaseValue, loan.dueOn.daysSinceEpoch.databaseValue,
                        closed?.databaseValue ?? .null, sealedLoan.databaseValue,
                    ])
                }
            }
            results.set(chunk, at: worker)
        }
        guard let chunks = results.all else { throw Vault.secureMemoryFailure }
        return chunks
    }

    private func removeImportedKeys(_ chunks: [SealedChunk]) {
        try? storage.keys.write { kdb in
            for chunk in chunks {
                for (pseudonym, _) in chunk.patronKeys {
                    try kdb.execute(sql: "DELETE FROM patron_key WHERE pseudonym = ?", arguments: [pseudonym])
                    try kdb.execute(sql: "DELETE FROM record_key WHERE pseudonym = ?", arguments: [pseudonym])
                }
            }
        }
    }
}

/// Per-worker results of parallel sealing; each worker writes only its own slot.
private final class ImportResults: @unchecked Sendable {
    private var chunks: [SealedChunk?]
    private let lock = NSLock()

    init(count: Int) { chunks = Array(repeating: nil, count: count) }

    func set(_ chunk: SealedChunk, at index: Int) {
        lock.withLock { chunks[index] = chunk }
    }

    /// Every chunk, or nil if a worker could not get secure memory.
    var all: [SealedChunk]? {
        lock.withLock { chunks.contains { $0 == nil } ? nil : chunks.map { $0! } }
    }
}

/// The key store's failure, handed from its writer thread back to the records transaction.
private final class ImportKeysFailure: @unchecked Sendable {
    private var stored: (any Error)?
    private let lock = NSLock()

    func set(_ error: any Error) { lock.withLock { stored = error } }
    var error: (any Error)? { lock.withLock { stored } }
}
