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

    /// Registration and open loans: the desk view, and the patron's own.
    func profile(of patron: PatronRow) throws -> PatronProfile {
        let registration = try sealedRegistration(of: patron)
        let loans = try records.records(patron: patron.pseudonym, kind: .loan, state: .open)
        let opened = try openRecords([registration] + loans, of: patron.pseudonym)
        return PatronProfile(
            registration: try Self.checked(PatronRegistration(decoding: opened[0]), for: patron),
            openLoans: try Loan.decoding(opened.dropFirst(), state: .open))
    }

    /// Returned loans kept because the patron opted in. When the patron was found by a card, the
    /// registration is opened too, to check it holds that card.
    func history(of patron: PatronRow) throws -> [Loan] {
        let sealed = try records.records(patron: patron.pseudonym, kind: .loan, state: .closed)
        guard patron.askedCard != nil else { return try Loan.decoding(openRecords(sealed, of: patron.pseudonym), state: .closed) }
        let opened = try openRecords([sealedRegistration(of: patron)] + sealed, of: patron.pseudonym)
        _ = try Self.checked(PatronRegistration(decoding: opened[0]), for: patron)
        return try Loan.decoding(opened.dropFirst(), state: .closed)
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
    /// Decodes loans and checks that each one's sealed return time agrees with the plaintext
    /// state it was selected by: a closed loan flipped back to open in the table is an integrity
    /// failure, never history shown at the desk.
    static func decoding(_ plaintexts: some Sequence<[UInt8]>, state: RecordState) throws -> [Loan] {
        try plaintexts.map { plaintext in
            let loan = try Loan(decoding: plaintext)
            guard (loan.returnedAt == nil) == (state == .open) else { throw VaultError.integrity }
            return loan
        }.sorted { $0.checkedOutAt < $1.checkedOutAt }
    }
}
