import Foundation
import GRDB
import PatronVaultCrypto

extension Vault {
    /// Checks a card and PIN. The attempt is counted (and the card locked after too many) in a
    /// first transaction, before the PIN is checked, so killing the process cannot skip the
    /// count; Argon2id then runs outside the write lock, so guessing at many cards cannot stall
    /// the vault; a second transaction clears the count on success. Unknown cards, locked cards
    /// and cards without a PIN run the same Argon2id work against a decoy hash.
    public func authenticatePatron(card: String, pin: [UInt8]) throws(VaultError) -> Principal {
        let failure = VaultError(.authenticationFailed, "the card barcode or PIN is wrong")
        guard let card = try? FieldRules.barcode(card, field: "card barcode"), (4...64).contains(pin.count) else {
            throw failure
        }
        let cardIndex = keyRing.card.index(of: card)
        let attemptTime = now
        enum Step { case check(PatronPseudonym, hash: String?), unknown, locked(Date) }
        let step: Step = try run {
            try storage.records.write { db in
                defer { slots.wipe() }
                guard let patron = try patronRow(cardIndex: cardIndex, in: db) else { return .unknown }
                let key = Data(patron.pseudonym.bytes)
                let attempt = try Row.fetchOne(db.cachedStatement(sql: "SELECT failures, locked_until FROM pin_attempt WHERE pseudonym = ?"), arguments: [key])
                if let lockedUntil = attempt?["locked_until"] as Int64?, Self.millis(attemptTime) < lockedUntil {
                    return .locked(Self.date(millis: lockedUntil))
                }
                let hash = try registration(of: patron, in: db).pinHash
                let failures = (attempt?["failures"] as Int? ?? 0) + 1
                if failures >= configuration.pinFailureLimit {
                    let until = Self.millis(attemptTime.addingTimeInterval(configuration.pinLockout))
                    try db.execute(sql: "INSERT OR REPLACE INTO pin_attempt(pseudonym, failures, locked_until) VALUES (?, 0, ?)", arguments: [key, until])
                } else {
                    try db.execute(sql: "INSERT OR REPLACE INTO pin_attempt(pseudonym, failures, locked_until) VALUES (?, ?, NULL)", arguments: [key, failures])
                }
                return .check(patron.pseudonym, hash: hash)
            }
        }
        switch step {
        case .check(let pseudonym, let hash?) where Argon2id.verify(pin, against: hash):
            try run {
                try storage.records.write { db in
                    try db.execute(sql: "DELETE FROM pin_attempt WHERE pseudonym = ?", arguments: [Data(pseudonym.bytes)])
                }
            }
            return .patron(pseudonym)
        case .check(_, let hash):
            if hash == nil { _ = Argon2id.verify(pin, against: Self.decoyPINHash) }
            throw failure
        case .unknown:
            _ = Argon2id.verify(pin, against: Self.decoyPINHash)
            throw failure
        case .locked(let until):
            _ = Argon2id.verify(pin, against: Self.decoyPINHash)
            let minutes = max(1, Int((until.timeIntervalSince(attemptTime) / 60).rounded(.up)))
            throw VaultError(.lockedOut, "this card is locked after too many wrong PINs; try again in \(minutes) minute\(minutes == 1 ? "" : "s")")
        }
    }

    /// A real Argon2id hash of a random secret: unknown cards are checked against it so their
    /// answer takes as long as a known card's.
    private static let decoyPINHash: String = (try? Argon2id.hash(SecureRandom.bytes(16))) ?? ""

    /// The patron changes their own PIN (after signing in with the current one): the way to take
    /// back an account whose PIN a staff member set at the desk.
    public func changeOwnPIN(to newPIN: [UInt8], by principal: Principal) throws(VaultError) {
        let pseudonym = try Self.patronIdentity(principal)
        let pinHash: String
        do { pinHash = try Argon2id.hash(try FieldRules.pin(newPIN), limits: configuration.pinLimits) } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError.storage("the PIN could not be hashed (not enough memory for Argon2id)")
        }
        try gatedWrite { db in
            try authorize(principal, .patronChangePIN, .registration, patron: pseudonym, in: db)
            let patron = try ownRow(pseudonym, in: db)
            var registration = try registration(of: patron, in: db)
            registration.pinHash = pinHash
            let sealed = reseal(registration.encoded(), kind: .registration, id: patron.registrationID, patron: pseudonym)
            try db.execute(sql: "UPDATE record SET sealed = ? WHERE patron = ? AND id = ?", arguments: [Data(sealed), Data(pseudonym.bytes), Data(patron.registrationID.bytes)])
        }
    }

    /// The patron's own account: registration and the loans they have out.
    public func myProfile(by principal: Principal) throws(VaultError) -> PatronProfile {
        let pseudonym = try Self.patronIdentity(principal)
        return try gatedWrite { db in
            try authorize(principal, .patronRead, .registration, patron: pseudonym, state: RecordState.open.name, in: db)
            try authorize(principal, .loanReadOpen, .loan, patron: pseudonym, state: RecordState.open.name, in: db)
            return try profile(of: ownRow(pseudonym, in: db), in: db)
        }
    }

    /// The patron's reading history: returned loans kept because they opted in. Nobody else
    /// can read it.
    public func myHistory(by principal: Principal) throws(VaultError) -> [Loan] {
        let pseudonym = try Self.patronIdentity(principal)
        return try gatedWrite { db in
            try authorize(principal, .historyRead, .history, patron: pseudonym, state: RecordState.closed.name, in: db)
            return try history(of: ownRow(pseudonym, in: db), in: db)
        }
    }

    /// A staff request for a patron's reading history. The shipped policy forbids it to every
    /// staff role unless an approved legal order covers it; it exists so that such a request is
    /// decided, refused with its reason, and recorded like any other.
    public func patronHistory(card: String, purpose: String?, by principal: Principal) throws(VaultError) -> [Loan] {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        return try gatedWrite { db in
            let patron = try patronRow(card: card, in: db)
            try authorize(principal, .historyRead, .history, patron: patron.pseudonym, state: RecordState.closed.name, purpose: purpose, in: db)
            return try history(of: patron, in: db)
        }
    }

    func history(of patron: PatronRow, in db: Database) throws -> [Loan] {
        try Self.loans(openRecords(sealedRecords(patron: patron.pseudonym, kind: .loan, state: .closed, in: db), of: patron.pseudonym), state: .closed)
    }

    private func ownRow(_ pseudonym: PatronPseudonym, in db: Database) throws -> PatronRow {
        guard let row = try patronRow(pseudonym: pseudonym, in: db) else {
            throw VaultError.notFound("this patron account no longer exists")
        }
        return row
    }

    private static func patronIdentity(_ principal: Principal) throws(VaultError) -> PatronPseudonym {
        guard let pseudonym = principal.pseudonym else {
            throw VaultError(.permissionDenied, "access denied: only a patron signed in with card and PIN can use their own account")
        }
        return pseudonym
    }

    /// The anonymous circulation statistics: no patron link survives in them.
    public func statistics(by principal: Principal) throws(VaultError) -> [CirculationStatistic] {
        try gatedWrite { db in
            try authorize(principal, .statsRead, .statistics, in: db)
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT item_barcode, branch, month, returns FROM circulation_stat ORDER BY month, branch, item_barcode")).map {
                CirculationStatistic(itemBarcode: $0["item_barcode"], branch: $0["branch"], month: $0["month"], returns: $0["returns"])
            }
        }
    }
}
