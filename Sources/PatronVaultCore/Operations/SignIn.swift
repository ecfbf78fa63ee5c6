import Foundation
import PatronVaultCrypto

/// Proving who is asking: a staff bearer token, or a patron's card and PIN. Only principals
/// made here can pass the gate, so a front end cannot act as someone it has not authenticated.
public struct SignIn: Sendable {
    let gate: Gate
    let configuration: VaultConfiguration
    let derivations: KeyDerivationQueue

    /// Exchanges a bearer token for a staff principal. Only the token's hash is stored, and an
    /// unknown, malformed or revoked token gets the same answer so none can be told apart.
    public func staff(token: String) async throws(VaultError) -> Principal {
        let failure = VaultError(.authenticationFailed, "the staff token is not valid (unknown, revoked or mistyped)")
        guard AccessToken.looksValid(token) else { throw failure }
        let hash = AccessToken.hash(token)
        let account = try await gate.signInRead { reader in try reader.staff(tokenHash: hash) }
        guard let account, account.isActive else { throw failure }
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
        let limit = configuration.pinFailureLimit
        let lockout = configuration.pinLockout
        let step: SignInStep = try await gate.signIn { tx in
            guard var patron = try tx.records.patron(cardIndex: cardIndex) else { return .unknown }
            patron.askedCard = card
            let attempt = try tx.records.pinAttempt(patron: patron.pseudonym)
            if let lockedUntil = attempt?.lockedUntil, attemptTime < lockedUntil { return .locked(lockedUntil) }
            let hash = try tx.registration(of: patron).pinHash
            let failures = (attempt?.failures ?? 0) + 1
            try tx.records.setPINAttempt(
                patron: patron.pseudonym,
                failures >= limit ? PINAttempt(failures: 0, lockedUntil: attemptTime.addingTimeInterval(lockout)) : PINAttempt(failures: failures, lockedUntil: nil))
            return .check(patron.pseudonym, hash: hash)
        }
        let checked = try? await derivations.run { () -> Bool in
            if case .check(_, let hash?) = step { return Argon2id.verify(pin, against: hash) }
            _ = Argon2id.verify(pin, against: Self.decoyPINHash)
            return false
        }
        switch step {
        case .check(let pseudonym, _) where checked == true:
            try await gate.signIn { tx in try tx.records.clearPINAttempts(patron: pseudonym) }
            return .patron(pseudonym)
        case .locked(let until):
            let minutes = max(1, Int((until.timeIntervalSince(attemptTime) / 60).rounded(.up)))
            throw VaultError(.lockedOut, "this card is locked after too many wrong PINs; try again in \(minutes) minute\(minutes == 1 ? "" : "s")")
        default:
            throw failure
        }
    }

    /// A real Argon2id hash of a random secret: unknown cards are checked against it so their
    /// answer takes as long as a known card's.
    private static let decoyPINHash: String = (try? Argon2id.hash(SecureRandom.bytes(16))) ?? ""
}

/// What the first sign-in transaction found.
private enum SignInStep: Sendable {
    case check(PatronPseudonym, hash: String?)
    case unknown
    case locked(Date)
}
