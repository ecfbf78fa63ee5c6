import Foundation
import GRDB
import PatronVaultCrypto

extension Vault {
    /// Registers a patron: a random pseudonym and a random patron key, the registration sealed
    /// under its own record key, and blind indexes for card, email and name. History defaults
    /// to `discard` (ALA: history is opt-in). The PIN is hashed with Argon2id inside the sealed
    /// registration, so a stolen database cannot be brute-forced offline.
    public func registerPatron(_ form: PatronRegistration, pin: [UInt8]?, by principal: Principal) throws(VaultError) {
        var registration = try Self.validated(form)
        registration.registeredOn = CalendarDay(now)
        if let pin {
            let pin = try FieldRules.pin(pin)
            do { registration.pinHash = try Argon2id.hash(pin, limits: configuration.pinLimits) } catch {
                throw VaultError.storage("the PIN could not be hashed (not enough memory for Argon2id)")
            }
        }
        let cardIndex = keyRing.card.index(of: registration.cardBarcode)
        let emailIndex = keyRing.email.index(of: registration.email)
        let nameIndex = keyRing.name.index(of: FieldRules.normalizedName(registration.fullName))
        try gatedWrite { db in
            let patron = PatronPseudonym.random()
            try authorize(principal, .patronRegister, .registration, patron: patron, in: db)
            if try patronRow(cardIndex: cardIndex, in: db) != nil {
                throw VaultError(.alreadyExists, "a patron with that card barcode is already registered")
            }
            let id = RecordID.random()
            let wrappedPatronKey = newPatronKey(patron)
            let (sealed, wrappedRecordKey) = sealNew(registration.encoded(), kind: .registration, id: id, patron: patron)
            try storeKeys(patronKey: (patron, wrappedPatronKey), recordKeys: [(id, patron, wrappedRecordKey)])
            do {
                try db.execute(
                    sql: """
                        INSERT INTO patron(pseudonym, card_index, email_index, name_index, history_keep, registration_id, registered_day, expires_day)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        Data(patron.bytes), Data(cardIndex), Data(emailIndex), Data(nameIndex), registration.history == .keep,
                        Data(id.bytes), registration.registeredOn.daysSinceEpoch, registration.cardExpiry?.daysSinceEpoch,
                    ])
                try insertRecord(id: id, patron: patron, kind: .registration, itemIndex: nil, opened: registration.registeredOn, due: nil, sealed: sealed, in: db)
            } catch {
                discardKeys(patron: patron, includingPatronKey: true, records: [id])
                throw error
            }
        }
    }

    /// The desk view of a patron: registration and open loans, for a stated purpose that the
    /// gate checks and the audit trail keeps. Reading history is never part of it.
    public func patronProfile(card: String, purpose: String?, by principal: Principal) throws(VaultError) -> PatronProfile {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        return try gatedWrite { db in
            let patron = try patronRow(card: card, in: db)
            try authorize(principal, .patronRead, .registration, patron: patron.pseudonym, state: RecordState.open.name, purpose: purpose, in: db)
            try authorize(principal, .loanReadOpen, .loan, patron: patron.pseudonym, state: RecordState.open.name, purpose: purpose, in: db)
            return try profile(of: patron, in: db)
        }
    }

    func profile(of patron: PatronRow, in db: Database) throws -> PatronProfile {
        let record = try sealedRecord(id: patron.registrationID, patron: patron.pseudonym, in: db)
        guard record.kind == .registration else { throw VaultError.integrity }
        let loans = try sealedRecords(patron: patron.pseudonym, kind: .loan, state: .open, in: db)
        let opened = try openRecords([record] + loans, of: patron.pseudonym)
        return PatronProfile(
            registration: try PatronRegistration(decoding: opened[0]),
            openLoans: try Self.loans(opened.dropFirst(), state: .open))
    }

    /// Finds patrons by exact email or by name (case, accents and spacing ignored) through blind
    /// indexes; the stored index reveals neither.
    public func findPatrons(email: String? = nil, name: String? = nil, purpose: String?, by principal: Principal) throws(VaultError) -> [PatronMatch] {
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let column: String
        let index: [UInt8]
        switch (email, name) {
        case (let email?, nil):
            column = "email_index"
            index = keyRing.email.index(of: try FieldRules.email(email))
        case (nil, let name?):
            column = "name_index"
            index = keyRing.name.index(of: FieldRules.normalizedName(try FieldRules.text(name, field: "name")))
        default:
            throw VaultError.invalid("search by exactly one of email or name")
        }
        return try gatedWrite { db in
            try authorize(principal, .patronFind, .registration, purpose: purpose, in: db)
            let rows = try Row.fetchAll(db, sql: "SELECT \(PatronRow.columns) FROM patron WHERE \(column) = ?", arguments: [Data(index)]).map(PatronRow.init)
            var matches: [PatronMatch] = []
            for patron in rows {
                try authorize(principal, .patronFind, .registration, patron: patron.pseudonym, purpose: purpose, in: db)
                let registration = try registration(of: patron, in: db)
                matches.append(PatronMatch(cardBarcode: registration.cardBarcode, fullName: registration.fullName))
            }
            return matches.sorted { ($0.fullName, $0.cardBarcode) < ($1.fullName, $1.cardBarcode) }
        }
    }

    /// Changes registration fields; the record is resealed under its own key and the blind
    /// indexes follow the new values. Nothing is returned: an update is not a lookup, and a
    /// lookup needs a stated purpose.
    public func updatePatron(card: String, with update: PatronUpdate, by principal: Principal) throws(VaultError) {
        let card = try FieldRules.barcode(card, field: "card barcode")
        guard !update.isEmpty else { throw VaultError.invalid("nothing to update; name at least one field") }
        try gatedWrite { db in
            let patron = try patronRow(card: card, in: db)
            try authorize(principal, .patronUpdate, .registration, patron: patron.pseudonym, in: db)
            var registration = try registration(of: patron, in: db)
            if let value = update.fullName { registration.fullName = value }
            if let value = update.email { registration.email = value }
            if let value = update.phone { registration.phone = value }
            if let value = update.postalAddress { registration.postalAddress = value }
            if let value = update.birthDate { registration.birthDate = value }
            if let value = update.homeBranch { registration.homeBranch = value }
            if let value = update.category { registration.category = value }
            if let value = update.cardExpiry { registration.cardExpiry = value }
            registration = try Self.validated(registration)
            let sealed = reseal(registration.encoded(), kind: .registration, id: patron.registrationID, patron: patron.pseudonym)
            try db.execute(
                sql: "UPDATE patron SET email_index = ?, name_index = ?, expires_day = ? WHERE pseudonym = ?",
                arguments: [
                    Data(keyRing.email.index(of: registration.email)),
                    Data(keyRing.name.index(of: FieldRules.normalizedName(registration.fullName))),
                    registration.cardExpiry?.daysSinceEpoch, Data(patron.pseudonym.bytes),
                ])
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE patron = ? AND id = ?", arguments: [Data(sealed), Data(patron.pseudonym.bytes), Data(patron.registrationID.bytes)])
        }
    }

    /// Sets a new PIN at the desk (an imported patron has none; a patron forgot theirs) and
    /// clears any lockout. Whoever sets a PIN can sign in as the patron, so this is its own
    /// action, allowed by the shipped rules only for account help, recorded against the patron
    /// and shown to them in `myAccesses`.
    public func resetPIN(card: String, pin: [UInt8], purpose: String?, by principal: Principal) throws(VaultError) {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let pinHash: String
        do { pinHash = try Argon2id.hash(try FieldRules.pin(pin), limits: configuration.pinLimits) } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError.storage("the PIN could not be hashed (not enough memory for Argon2id)")
        }
        try gatedWrite { db in
            let patron = try patronRow(card: card, in: db)
            try authorize(principal, .patronResetPIN, .registration, patron: patron.pseudonym, purpose: purpose, in: db)
            var registration = try registration(of: patron, in: db)
            registration.pinHash = pinHash
            let sealed = reseal(registration.encoded(), kind: .registration, id: patron.registrationID, patron: patron.pseudonym)
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE patron = ? AND id = ?", arguments: [Data(sealed), Data(patron.pseudonym.bytes), Data(patron.registrationID.bytes)])
            try db.execute(sql: "DELETE FROM pin_attempt WHERE pseudonym = ?", arguments: [Data(patron.pseudonym.bytes)])
        }
    }

    /// Decodes loans and checks that each one's sealed return time agrees with the plaintext
    /// state it was selected by: a closed loan flipped back to open in the table is an integrity
    /// failure, never history shown at the desk.
    static func loans(_ plaintexts: some Sequence<[UInt8]>, state: RecordState) throws -> [Loan] {
        try plaintexts.map { plaintext in
            let loan = try Loan(decoding: plaintext)
            guard (loan.returnedAt == nil) == (state == .open) else { throw VaultError.integrity }
            return loan
        }.sorted { $0.checkedOutAt < $1.checkedOutAt }
    }

    func insertRecord(
        id: RecordID, patron: PatronPseudonym, kind: RecordKind, itemIndex: [UInt8]?, opened: CalendarDay, due: CalendarDay?,
        sealed: [UInt8], in db: Database
    ) throws {
        try db.cachedStatement(sql: """
            INSERT INTO record(patron, id, kind, state, item_index, opened_day, due_day, sealed) VALUES (?, ?, ?, 0, ?, ?, ?, ?)
            """).execute(arguments: [
                Data(patron.bytes), Data(id.bytes), kind.rawValue, itemIndex.map { Data($0) }, opened.daysSinceEpoch, due?.daysSinceEpoch, Data(sealed),
            ])
    }

    /// Normalises and checks every field; errors name the field, never its value.
    static func validated(_ form: PatronRegistration) throws(VaultError) -> PatronRegistration {
        var registration = form
        registration.cardBarcode = try FieldRules.barcode(form.cardBarcode, field: "card barcode")
        registration.fullName = try FieldRules.text(form.fullName, field: "name", maxLength: 256)
        registration.email = try FieldRules.email(form.email)
        registration.phone = try FieldRules.optionalText(form.phone, field: "phone")
        registration.postalAddress = try FieldRules.optionalText(form.postalAddress, field: "address")
        registration.homeBranch = try FieldRules.optionalText(form.homeBranch, field: "branch")
        registration.category = try FieldRules.optionalText(form.category, field: "category")
        return registration
    }
}
