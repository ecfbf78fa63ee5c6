import Foundation
import PatronVaultCrypto

/// Proving who is asking: a staff bearer token, or a patron's card and PIN. Only principals
/// made here can pass the gate, so a front end cannot act as someone it has not authenticated.
public struct SignIn: Sendable {
    let gate: Gate
    let configuration: VaultConfiguration
    let derivations: KeyDerivationQueue
    private let decoy: String

    init(gate: Gate, configuration: VaultConfiguration, derivations: KeyDerivationQueue) {
        self.gate = gate
        self.configuration = configuration
        self.derivations = derivations
        decoy = Self.decoy(for: configuration.pinLimits)
    }

    /// Exchanges a bearer token for a staff principal. Only the token's hash is stored, and an
    /// unknown, malformed or revoked token gets the same answer so none can be told apart.
    public func staff(token: String) async throws(VaultError) -> Principal {
        let failure = VaultError(.authenticationFailed, "the staff token is not valid (unknown, revoked or mistyped)")
        guard AccessToken.looksValid(token) else { throw failure }
        let hash = AccessToken.hash(token)
        let account = try await gate.staffAccount(tokenHash: hash)
        guard let account, account.isActive else { throw failure }
        if account.remoteOnly, gate.frontEnd != .daemon {
            throw VaultError(.authenticationFailed, "this staff account works only through the daemon: send the command with --server or PATRONVAULT_SERVER")
        }
        return .staff(id: account.id, name: account.name, role: account.role)
    }

    /// Checks a card and PIN. The attempt is counted (and the card locked after too many) in a
    /// first transaction, before the PIN is checked, so killing the process cannot skip the
    /// count; Argon2id then runs outside the write lock and off the cooperative pool, so guessing
    /// at many cards cannot stall the vault; a second transaction clears the count on success.
    /// Unknown cards, locked cards and cards without a PIN run the same Argon2id work against a
    /// decoy hash.
    public func patron(card: String, pin: [UInt8]) async throws(VaultError) -> Principal {
        let failure = VaultError(.authenticationFailed, "the card barcode or PIN is wrong")
        guard let card = try? FieldRules.barcode(card, field: "card barcode"), (4...64).contains(pin.count) else {
            throw failure
        }
        let cardIndex = gate.ring.card.index(of: card)
        let attemptTime = gate.clock.now()
        let decoy = decoy
        let step: SignInStep
        do {
            step = try await countAttempt(cardIndex: cardIndex, card: card, at: attemptTime)
        } catch {
            // An edited card index or registration: still a sign-in that failed, and on record.
            await gate.recordFailedSignIn(patron: nil)
            throw error
        }
        let checked = try? await derivations.run { () -> Bool in
            if case .check(_, let hash?) = step { return Argon2id.verify(pin, against: hash) }
            _ = Argon2id.verify(pin, against: decoy)
            return false
        }
        // Every outcome costs the same: one counting transaction, one Argon2id check, one more
        // transaction (clearing the count, or recording the failure).
        switch step {
        case .check(let pseudonym, _) where checked == true:
            try await gate.signIn { tx in try tx.clearPINAttempts(patron: pseudonym) }
            return .patron(pseudonym)
        case .locked(let pseudonym, let until):
            await gate.recordFailedSignIn(patron: pseudonym)
            let minutes = max(1, Int((until.timeIntervalSince(attemptTime) / 60).rounded(.up)))
            throw VaultError(
                .lockedOut, "this card is locked after too many wrong PINs; try again in \(minutes) minute\(minutes == 1 ? "" : "s")",
                retryAfter: .seconds(max(1, Int(until.timeIntervalSince(attemptTime).rounded(.up)))))
        case .check(let pseudonym, _):
            await gate.recordFailedSignIn(patron: pseudonym)
            throw failure
        case .unknown:
            await gate.recordFailedSignIn(patron: nil)
            throw failure
        }
    }

    /// The first transaction: finds the card and counts the attempt before the PIN is checked,
    /// so killing the process cannot skip the count.
    private func countAttempt(cardIndex: [UInt8], card: String, at attemptTime: Date) async throws(VaultError) -> SignInStep {
        let limit = configuration.pinFailureLimit
        let lockout = configuration.pinLockout
        return try await gate.signIn { tx in
            guard var patron = try tx.patron(cardIndex: cardIndex) else { return .unknown }
            patron.askedCard = card
            let attempt = try tx.pinAttempt(patron: patron.pseudonym)
            if let lockedUntil = attempt?.lockedUntil, attemptTime < lockedUntil { return .locked(patron.pseudonym, lockedUntil) }
            // A card with no PIN can never sign in: it is not counted, so it never answers
            // "locked" and stays indistinguishable from an unknown card.
            guard let hash = try tx.pinHash(of: patron) else { return .check(patron.pseudonym, hash: nil) }
            let failures = (attempt?.failures ?? 0) + 1
            try tx.setPINAttempt(
                patron: patron.pseudonym,
                failures >= limit ? PINAttempt(failures: 0, lockedUntil: attemptTime.addingTimeInterval(lockout)) : PINAttempt(failures: failures, lockedUntil: nil),
                on: CalendarDay(attemptTime))
            return .check(patron.pseudonym, hash: hash)
        }
    }

    /// A real Argon2id hash (interactive cost, as real PINs have) of a random secret nobody kept:
    /// unknown, locked and PIN-less cards are checked against it, so their answer costs what a
    /// known card's does. A constant, so a one-shot process does not pay to make one first.
    static let interactiveDecoy = "$argon2id$v=19$m=65536,t=2,p=1$Jdwh4VMNs7MMzxA9tKSgBg$6kmG5I4zATZIldwJKQGIShUfrWI9u39025LhaykSk2A"

    /// The decoy at the configured PIN cost: the constant for the default cost, else one made
    /// once when the vault opens (tests run with a cheap cost).
    static func decoy(for limits: Argon2Limits) -> String {
        guard limits != .interactive, let made = try? Argon2id.hash(SecureRandom.bytes(16), limits: limits) else { return interactiveDecoy }
        return made
    }
}

/// What the first sign-in transaction found.
private enum SignInStep: Sendable {
    case check(PatronPseudonym, hash: String?)
    case unknown
    case locked(PatronPseudonym, Date)
}
