import Foundation
import PatronVaultCrypto

/// What staff do at a circulation desk: register and look patrons up for a stated purpose, change
/// their details, reset a PIN for account help, lend and take back items. Every call passes the
/// gate first; reading history is refused by the shipped rules.
public struct CirculationDesk: Sendable {
    let gate: Gate
    let configuration: VaultConfiguration
    let derivations: KeyDerivationQueue

    /// Registers a patron: a random pseudonym and a random patron key, the registration sealed
    /// under its own record key, and blind indexes for card, email and name. History defaults
    /// to `discard` (ALA: history is opt-in). The PIN is hashed with Argon2id inside the sealed
    /// registration, so a stolen database cannot be brute-forced offline.
    public func registerPatron(_ form: PatronRegistration, pin: [UInt8]?, by principal: Principal) async throws(VaultError) {
        var registration = try PatronRegistration.validated(form, today: CalendarDay(gate.clock.now()))
        // Only `pin` sets a PIN, as an import does: a form decoded from a front end's document
        // carries a placeholder hash that verifies nothing, which must never be sealed.
        registration.pinHash = nil
        if let pin {
            registration.pinHash = try await derivations.hashPIN(try FieldRules.pin(pin), limits: configuration.pinLimits)
        }
        let ring = gate.ring
        let form = registration
        try await gate.write(principal, [AccessRequest(.patronRegister, .registration)]) { tx in
            var registration = form
            registration.registeredOn = CalendarDay(tx.time)
            let cardIndex = ring.card.index(of: registration.cardBarcode)
            if try tx.records.patron(cardIndex: cardIndex) != nil {
                throw VaultError(.alreadyExists, "a patron with that card barcode is already registered")
            }
            let patron = PatronPseudonym.random()
            try tx.authorize(about: patron)
            let id = RecordID.random()
            let patronKey = tx.keys.newPatronKey(patron)
            let (sealed, key) = try tx.keys.sealNew(registration.encoded(), kind: .registration, id: id)
            try tx.store(
                patrons: [registration.row(pseudonym: patron, registrationID: id, ring: ring)],
                records: [NewRecord(
                    patron: patron, id: id, kind: .registration, state: .open, itemIndex: nil, openedDay: registration.registeredOn, dueDay: nil,
                    closedDay: nil, version: 1, sealed: sealed)],
                keys: .newPatron(patronKey, records: [key]))
        }
    }

    /// The desk view of a patron for a stated purpose that the gate checks and the audit trail
    /// keeps: of the registration, open loans and fees owed, only the fields the permitting
    /// rules reveal for that purpose. The entries record which fields (never their values).
    /// Reading history is never part of it.
    ///
    /// `fields` narrows the view further to the named fields (what a patron at the desk asked to
    /// see): the view and the entries hold only those the rules also reveal.
    public func patronProfile(card: String, purpose: String?, fields: [String]? = nil, by principal: Principal) async throws(VaultError) -> PatronView {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let asked = try fields.map { names throws(VaultError) in try gate.views.fields(named: names) }
        let ring = gate.ring
        let requests = [
            AccessRequest(.patronRead, .registration, state: .open, purpose: purpose),
            AccessRequest(.loanReadOpen, .loan, state: .open, purpose: purpose),
            AccessRequest(.loanReadHeld, .loan, state: .held, purpose: purpose),
        ]
        return try await gate.write(principal, requests, subject: .card(card), readsOnly: true) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            let profile = try tx.profile(of: patron)
            tx.noteRevealedFields(limitedTo: asked)
            let revealed = asked.map(tx.revealed.intersection) ?? tx.revealed
            return PatronView(
                profile.registration, openLoans: profile.openLoans, fees: profile.feesOwed, today: CalendarDay(tx.time),
                showing: tx.views.shown(revealed))
        }
    }

    /// Finds patrons by exact email or by name (case, accents and spacing ignored) through blind
    /// indexes; the stored index reveals neither. Each match shows only the fields the rules
    /// permitting `patron.find` reveal for the purpose.
    public func findPatrons(email: String? = nil, name: String? = nil, purpose: String?, by principal: Principal) async throws(VaultError) -> [PatronView] {
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let search: PatronSearch
        switch (email, name) {
        case (let email?, nil):
            let email = try FieldRules.email(email)
            search = .email(email, index: gate.ring.email.index(of: email))
        case (nil, let name?):
            let name = FieldRules.normalizedName(try FieldRules.text(name, field: "name"))
            search = .name(name, index: gate.ring.name.index(of: name))
        default: throw VaultError.invalid("search by exactly one of email or name")
        }
        return try await gate.write(principal, [AccessRequest(.patronFind, .registration, purpose: purpose)], readsOnly: true) { tx in
            let rows: [PatronRow]
            switch search {
            case .email(_, let index): rows = try tx.records.patrons(emailIndex: index)
            case .name(_, let index): rows = try tx.records.patrons(nameIndex: index)
            }
            var matches: [PatronView] = []
            let today = CalendarDay(tx.time)
            for patron in rows {
                let before = tx.decisionCount
                try tx.authorize(about: patron.pseudonym)
                let registration = try tx.registration(of: patron)
                // The row was found by a blind index: the sealed registration must hold what was
                // searched for, or the index was copied onto another patron's row.
                guard search.matches(registration) else { throw VaultError.integrity }
                // Each match shows what its own decision reveals, as its own entry records.
                matches.append(PatronView(registration, today: today, showing: tx.views.shown(tx.revealed(since: before))))
            }
            tx.noteRevealedFields()
            // Ordered by the fields shown alone, so the order tells nothing the view does not.
            return matches.sorted { ($0.name ?? "", $0.card ?? "", $0.emailMasked ?? "") < ($1.name ?? "", $1.card ?? "", $1.emailMasked ?? "") }
        }
    }

    /// Changes registration fields; the record is resealed under its own key and the blind
    /// indexes follow the new values. Nothing is returned: an update is not a lookup, and a
    /// lookup needs a stated purpose.
    public func updatePatron(card: String, with update: PatronUpdate, by principal: Principal) async throws(VaultError) {
        let card = try FieldRules.barcode(card, field: "card barcode")
        guard !update.isEmpty else { throw VaultError.invalid("nothing to update; name at least one field") }
        let ring = gate.ring
        try await gate.write(principal, [AccessRequest(.patronUpdate, .registration)], subject: .card(card)) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            let opened = try tx.openedRegistration(of: patron)
            let registration = try PatronRegistration.validated(
                opened.registration.applying(update), today: CalendarDay(tx.time), checkingNoticeContact: false)
            try tx.reseal(opened.sealed, of: patron.pseudonym, as: registration.encoded())
            try tx.records.updateIndexes(
                of: patron.pseudonym, emailIndex: ring.email.index(of: registration.email),
                nameIndex: ring.name.index(of: FieldRules.normalizedName(registration.fullName)), expires: registration.cardExpiry)
        }
        // The version replaced holds the old details: its key goes now, or on the next pass.
        _ = try? await gate.storage.finishShreds(checking: gate.ring.recordSet)
    }

    /// Sets a new PIN at the desk (an imported patron has none; a patron forgot theirs) and
    /// clears any lockout. Whoever sets a PIN can sign in as the patron, so this is its own
    /// action, allowed by the shipped rules only for account help, recorded against the patron
    /// and shown to them in `myAccesses`.
    public func resetPIN(card: String, pin: [UInt8], purpose: String?, by principal: Principal) async throws(VaultError) {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let pinHash = try await derivations.hashPIN(try FieldRules.pin(pin), limits: configuration.pinLimits)
        let ring = gate.ring
        try await gate.write(principal, [AccessRequest(.patronResetPIN, .registration, purpose: purpose)], subject: .card(card)) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            try tx.replacePINHash(of: patron, with: pinHash)
            try tx.records.clearPINAttempts(patron: patron.pseudonym)
        }
        _ = try? await gate.storage.finishShreds(checking: gate.ring.recordSet)
    }

    /// A staff request for a patron's reading history. The shipped policy forbids it to every
    /// staff role unless an approved legal order covers it; it exists so that such a request is
    /// decided, refused with its reason, and recorded like any other.
    public func patronHistory(card: String, purpose: String?, by principal: Principal) async throws(VaultError) -> [Loan] {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let ring = gate.ring
        return try await gate.write(
            principal, [AccessRequest(.historyRead, .history, state: .closed, purpose: purpose)], subject: .card(card), readsOnly: true
        ) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            return try tx.history(of: patron)
        }
    }

    /// The anonymous circulation statistics: no patron link survives in them.
    public func statistics(by principal: Principal) async throws(VaultError) -> [CirculationStatistic] {
        try await gate.read(principal, [AccessRequest(.statsRead, .statistics)]) { reader in try reader.statistics() }
    }
}

/// Which blind index a staff search uses, and the normalised value it was made from.
private enum PatronSearch: Sendable {
    case email(String, index: [UInt8])
    case name(String, index: [UInt8])

    func matches(_ registration: PatronRegistration) -> Bool {
        switch self {
        case .email(let email, _): registration.email == email
        case .name(let name, _): FieldRules.normalizedName(registration.fullName) == name
        }
    }
}

extension GatedTransaction {
    /// Replaces the PIN hash sealed in a patron's registration (a fresh version: the old one,
    /// with the old PIN, can never be restored).
    func replacePINHash(of patron: PatronRow, with pinHash: String) throws {
        var (sealed, registration) = try openedRegistration(of: patron)
        registration.pinHash = pinHash
        try reseal(sealed, of: patron.pseudonym, as: registration.encoded())
    }
}

extension KeyDerivationQueue {
    /// Hashes a PIN with Argon2id off the cooperative pool.
    func hashPIN(_ pin: [UInt8], limits: Argon2Limits) async throws(VaultError) -> String {
        do {
            return try await run { try Argon2id.hash(pin, limits: limits) }
        } catch {
            throw VaultError.storage("the PIN could not be hashed (not enough memory for Argon2id)")
        }
    }
}
