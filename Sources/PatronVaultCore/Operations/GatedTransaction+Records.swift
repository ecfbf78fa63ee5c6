import PatronVaultCrypto

/// Reading a patron's records through the gate's transaction, which holds the operation's keys.
extension GatedTransaction {
    func sealedRegistration(of patron: PatronRow) throws -> SealedRecord {
        guard let record = try records.record(id: patron.registrationID, patron: patron.pseudonym) else {
            throw VaultError(.corruptVault, "a patron's registration record is missing from the vault")
        }
        guard record.kind == .registration else { throw VaultError.integrity }
        return record
    }

    /// Reads and opens a patron's registration; its record key stays loaded for a reseal.
    func registration(of patron: PatronRow) throws -> PatronRegistration {
        try openedRegistration(of: patron).registration
    }

    /// The registration and the sealed row it came from, for a change that reseals it.
    func openedRegistration(of patron: PatronRow) throws -> (sealed: SealedRecord, registration: PatronRegistration) {
        let sealed = try sealedRegistration(of: patron)
        return (sealed, try Self.checked(PatronRegistration(decoding: openRecords([sealed], of: patron.pseudonym)[0]), for: patron))
    }

    /// Registration, open loans and fees owed: the desk view, and the patron's own. Every row
    /// of the patron is checked against their record set, so no loan can be left out of the list.
    func profile(of patron: PatronRow) throws -> PatronProfile {
        let all = try records.records(patron: patron.pseudonym)
        let registration = try listedRegistration(of: patron, in: all)
        let loans = all.filter { $0.kind == .loan && $0.state == .open }
        let held = all.filter { $0.kind == .loan && $0.state == .held }
        let opened = try openListed([registration] + loans + held, of: patron.pseudonym, all: all)
        let owed = try Loan.decoding(opened.suffix(held.count), state: .held).filter { $0.fee?.settledAt == nil }
        return PatronProfile(
            registration: try Self.checked(PatronRegistration(decoding: opened[0]), for: patron),
            openLoans: try Loan.decoding(opened.dropFirst().prefix(loans.count), state: .open),
            feesOwed: try owed.map { loan throws(VaultError) in try FeeOwed(loan) })
    }

    /// Returned loans held for a fee, with their rows, checked against the record set; the
    /// registration is opened too when the patron was found by a card, to check it holds it.
    /// What a settlement chooses from.
    func heldLoans(of patron: PatronRow) throws -> (registration: PatronRegistration, held: [(sealed: SealedRecord, loan: Loan)]) {
        let all = try records.records(patron: patron.pseudonym)
        let held = all.filter { $0.kind == .loan && $0.state == .held }
        let opened = try openListed([listedRegistration(of: patron, in: all)] + held, of: patron.pseudonym, all: all)
        let registration = try Self.checked(PatronRegistration(decoding: opened[0]), for: patron)
        let loans = try Loan.decoding(opened.dropFirst(), state: .held, sorted: false)
        return (registration, Array(zip(held, loans)))
    }

    /// Returned loans kept because the patron opted in, checked against the record set like the
    /// profile. When the patron was found by a card, the registration is opened too, to check it
    /// holds that card.
    func history(of patron: PatronRow) throws -> [Loan] {
        let all = try records.records(patron: patron.pseudonym)
        let sealed = all.filter { $0.kind == .loan && $0.state == .closed }
        guard patron.askedCard != nil else { return try Loan.decoding(openListed(sealed, of: patron.pseudonym, all: all), state: .closed) }
        let opened = try openListed([listedRegistration(of: patron, in: all)] + sealed, of: patron.pseudonym, all: all)
        _ = try Self.checked(PatronRegistration(decoding: opened[0]), for: patron)
        return try Loan.decoding(opened.dropFirst(), state: .closed)
    }

    /// Every row of a patron, checked against their record set without opening any: what a
    /// purge or an erasure acts on, trusting each row's kind and state because the set binds them.
    /// The rows come without their sealed bytes.
    func checkedRows(of patron: PatronRow) throws -> [SealedRecord] {
        let all = try records.recordHeaders(patron: patron.pseudonym)
        let stored = try storage.keys.wrappedKeys(patron: patron.pseudonym, records: [])
        try verifyRecordSet(all, of: patron.pseudonym, stored: stored.recordKeyCount == all.count ? stored.recordSet : nil)
        return all
    }

    /// Returned loans in `state` (history, or held for a fee) with the rows they came from,
    /// checked against the record set like `history(of:)`: what a purge chooses from and deletes.
    /// `wrapped`, when the caller read the patron's keys already (a retention batch reads all
    /// its patrons' keys at once), saves reading them again.
    func historyRecords(of patron: PatronRow, state: RecordState = .closed, wrapped: WrappedKeys? = nil) throws -> [(sealed: SealedRecord, loan: Loan)] {
        let all = try records.records(patron: patron.pseudonym)
        let sealed = all.filter { $0.kind == .loan && $0.state == state }
        let opened = try openListed(sealed, of: patron.pseudonym, all: all, wrapped: wrapped)
        return try Array(zip(sealed, Loan.decoding(opened, state: state, sorted: false)))
    }

    /// Deletes every record of a patron with its key's shred queued, then the patron row with
    /// its blind indexes and PIN attempts. Refused while a loan is out: the library would lose
    /// track of the item. The rows are checked against the record set first, so a loan hidden by
    /// an edited column cannot slip past the check. Returns the record and history counts, and
    /// the shreds queued.
    func erase(_ patron: PatronRow) throws -> (records: Int, history: Int, shreds: [PendingShred]) {
        let all = try checkedRows(of: patron)
        _ = try listedRegistration(of: patron, in: all)
        if patron.askedCard != nil { _ = try openedRegistration(of: patron) }
        let out = all.filter { $0.kind == .loan && $0.state == .open }.count
        guard out == 0 else {
            throw VaultError(
                .conflict, "the account still has \(out) item\(out == 1 ? "" : "s") checked out; return \(out == 1 ? "it" : "them") before the account can be erased")
        }
        // A fee still owed keeps the account: whether one is owed is sealed in the held loans.
        let held = try all.filter { $0.kind == .loan && $0.state == .held }.map { row in
            guard let sealed = try records.record(id: row.id, patron: patron.pseudonym), sealed.version == row.version else { throw VaultError.integrity }
            return sealed
        }
        let owed = held.isEmpty ? 0 : try Loan.decoding(openRecords(held, of: patron.pseudonym), state: .held, sorted: false).filter { $0.fee?.settledAt == nil }.count
        guard owed == 0 else {
            throw VaultError(.conflict, "the account still owes \(owed) fee\(owed == 1 ? "" : "s"); settle \(owed == 1 ? "it" : "them") at the desk before the account can be erased")
        }
        let shreds = try destroy(all, of: patron.pseudonym, selection: .all)
        try records.deletePatron(patron.pseudonym)
        return (all.count, all.filter { $0.kind == .loan }.count, shreds)
    }

    private func listedRegistration(of patron: PatronRow, in all: [SealedRecord]) throws -> SealedRecord {
        guard let registration = all.first(where: { $0.id == patron.registrationID }) else {
            try verifyRecordSet(all, of: patron.pseudonym, stored: nil)
            throw VaultError(.corruptVault, "a patron's registration record is missing from the vault")
        }
        guard registration.kind == .registration else { throw VaultError.integrity }
        return registration
    }

    /// Opens `selected` after checking `all` (every row the patron has) against the record set
    /// read in the same key-store read as the keys.
    private func openListed(_ selected: [SealedRecord], of patron: PatronPseudonym, all: [SealedRecord], wrapped given: WrappedKeys? = nil) throws -> [[UInt8]] {
        let wrapped = try given ?? storage.keys.wrappedKeys(patron: patron, records: selected.map { ($0.id, $0.version) })
        try verifyRecordSet(all, of: patron, stored: wrapped.recordKeyCount == all.count ? wrapped.recordSet : nil)
        return try keys.open(selected, of: patron, wrapped: wrapped)
    }

    /// Checks that the rows found are exactly the patron's record set. The usual case is one
    /// sum over the rows' elements, when the patron has as many keys as rows. Otherwise (a change not settled yet, a shred still queued,
    /// or an edit) the patron's keys are read in one snapshot and every settled key must have its
    /// row or an authentic queued shred, every row its key with the same element, and the settled
    /// elements must make the stored set. A row hidden by a changed kind, state or patron column,
    /// or deleted, fails here.
    ///
    /// `inventory`, when the caller has read the patron's keys already, saves reading them again.
    func verifyRecordSet(_ rows: [SealedRecord], of patron: PatronPseudonym, stored: RecordSetDigest?, inventory: StoredRecordKeys? = nil) throws {
        let key = ring.recordSet
        if let stored, stored.matches(RecordSetDigest(elements: rows.lazy.map { key.element(of: $0, patron: patron) })) { return }
        let inventory = try inventory ?? storage.keys.recordKeys(patron: patron)
        guard let set = inventory.recordSet else { throw VaultError.integrity }
        var accounted = Set<RecordOwner>()
        for row in rows {
            let owner = RecordOwner(patron: patron, record: row.id, version: row.version)
            guard let stored = inventory.keys[owner], let element = stored.element, ConstantTime.equals(element, key.element(of: row, patron: patron))
            else { throw VaultError.integrity }
            accounted.insert(owner)
        }
        for shred in try records.pendingShreds(patron: patron) where key.isAuthentic(shred) {
            accounted.insert(RecordOwner(patron: patron, record: shred.record, version: shred.version))
        }
        var settled = RecordSetDigest.empty
        for (owner, stored) in inventory.keys where stored.settled {
            guard let element = stored.element, accounted.contains(owner) else { throw VaultError.integrity }
            settled.add(element)
        }
        guard settled.matches(set) else { throw VaultError.integrity }
    }

    /// The patron row for a card, or "not found" (which the gate records with the action).
    func patron(card: String, keys ring: KeyRing) throws -> PatronRow {
        guard var row = try records.patron(cardIndex: ring.card.index(of: card)) else {
            throw VaultError.notFound("no patron is registered with that card barcode")
        }
        row.askedCard = card
        return row
    }

    /// A registration found through a card must hold that card: a blind index copied onto
    /// another patron's row is an integrity failure, never that patron's data.
    private static func checked(_ registration: PatronRegistration, for patron: PatronRow) throws(VaultError) -> PatronRegistration {
        if let asked = patron.askedCard, registration.cardBarcode != asked { throw .integrity }
        return registration
    }
}

extension Loan {
    /// Decodes loans and checks that each one's sealed return time and fee agree with the
    /// plaintext state it was selected by: a closed loan flipped back to open in the table is an
    /// integrity failure, never history shown at the desk. Open loans have no fee; a held loan
    /// has one; a loan in history has none or a settled one.
    static func decoding(_ plaintexts: some Sequence<[UInt8]>, state: RecordState, sorted: Bool = true) throws -> [Loan] {
        let loans = try plaintexts.map { plaintext in
            let loan = try Loan(decoding: plaintext)
            let agrees = switch state {
            case .open: loan.returnedAt == nil && loan.fee == nil
            case .held: loan.returnedAt != nil && loan.fee != nil
            case .closed: loan.returnedAt != nil && (loan.fee == nil || loan.fee?.settledAt != nil)
            }
            guard agrees else { throw VaultError.integrity }
            return loan
        }
        return sorted ? loans.sorted { $0.checkedOutAt < $1.checkedOutAt } : loans
    }
}
