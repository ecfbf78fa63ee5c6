import Foundation
import PatronVaultCrypto
import PatronVaultAudit

/// The legal-process workflow (ALA: records are released only under a lawful order, reviewed by
/// the library's privacy officer): a privacy officer files an order, a second person (an admin or
/// another privacy officer, never the filer) approves it, and a privacy officer discloses what it
/// covers, once, before it expires, as a signed bundle. Every step is decided by the gate and
/// recorded with the order's id, and the patron sees the steps among their accesses once any
/// delayed-notice day has passed. An order the policies know of is the only way
/// `context.legalOrder` is ever true.
public struct LegalOrders: Sendable {
    let gate: Gate

    /// Files an order against the patron holding `filing.card`. The card is looked up after the
    /// filing is decided, as every lookup is.
    public func file(_ filing: LegalOrderFiling, by principal: Principal) async throws(VaultError) -> LegalOrder {
        let reference = try FieldRules.text(filing.reference, field: "order reference", maxLength: 200)
        let card = try FieldRules.barcode(filing.card, field: "card barcode")
        guard filing.from <= filing.to else { throw VaultError.invalid("the order's window ends before it starts") }
        let today = CalendarDay(gate.clock.now())
        guard filing.expires >= today else { throw VaultError.invalid("the order has already expired (its expiry day is before today)") }
        if let notice = filing.delayNoticeUntil, notice <= today {
            throw VaultError.invalid("the delayed-notice day must be after today, or left out for notice at once")
        }
        let ring = gate.ring
        let id = "LO-" + Hex.encode(SecureRandom.bytes(6))
        return try await gate.write(principal, [AccessRequest(.legalOrderFile, .legalOrder, legalOrder: id)], subject: .card(card)) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            let order = LegalOrder(
                id: id, reference: reference, patron: patron.pseudonym.description, scope: filing.scope, from: filing.from, to: filing.to,
                expires: filing.expires, delayNoticeUntil: filing.delayNoticeUntil, filedBy: principal.id, filedAt: tx.time)
            try tx.records.insertLegalOrder(try Self.seal(order, pseudonym: patron.pseudonym, with: ring))
            return order
        }
    }

    /// Approves a filed order: dual control, so never by the person who filed it, and only once,
    /// before it expires.
    public func approve(id: String, by principal: Principal) async throws(VaultError) -> LegalOrder {
        let id = try Self.checkedID(id)
        let ring = gate.ring
        return try await gate.write(principal, [AccessRequest(.legalOrderApprove, .legalOrder, legalOrder: id)]) { tx in
            var (order, pseudonym) = try Self.open(id, in: tx, ring: ring)
            if order.filedBy == principal.id {
                try tx.refuse(
                    AccessRequest(.legalOrderApprove, .legalOrder, patron: pseudonym, legalOrder: id),
                    because: "a legal order is approved by a second person, never by the one who filed it")
            }
            try tx.authorize(about: pseudonym)
            let today = CalendarDay(tx.time)
            switch order.status(on: today) {
            case .filed: break
            case .approved: throw VaultError(.conflict, "legal order \(id) is already approved")
            case .disclosed: throw VaultError(.conflict, "legal order \(id) was already used for its disclosure")
            case .expired: throw VaultError(.conflict, "legal order \(id) expired on \(order.expires) and can no longer be approved")
            }
            order.approvedBy = principal.id
            order.approvedAt = tx.time
            try tx.records.replaceLegalOrder(try Self.seal(order, pseudonym: pseudonym, with: ring))
            return order
        }
    }

    /// Discloses what an approved, unexpired, unused order covers, and closes it: the registration
    /// (scope `registration`), the returned loans in its window (`history`), or both with the open
    /// loans in its window (`all`), signed with the vault's export key. The reads are decided
    /// with `context.legalOrder` true, about the order's patron only.
    public func disclose(id: String, by principal: Principal) async throws(VaultError) -> LegalDisclosure {
        let id = try Self.checkedID(id)
        let ring = gate.ring
        let disclosed = try await gate.write(principal, [AccessRequest(.legalOrderDisclose, .legalOrder, legalOrder: id)]) { tx in
            var (order, pseudonym) = try Self.open(id, in: tx, ring: ring)
            try tx.authorize(about: pseudonym)
            let today = CalendarDay(tx.time)
            switch order.status(on: today) {
            case .approved: break
            case .filed: throw VaultError(.conflict, "legal order \(id) is not approved yet; a second person must approve it first")
            case .disclosed: throw VaultError(.conflict, "legal order \(id) was already used for its disclosure")
            case .expired: throw VaultError(.conflict, "legal order \(id) expired on \(order.expires)")
            }
            // The row says approved; the trail, which cannot be rolled back unseen, must not hold
            // a read already made under this order: if it does, an older copy of the row was put back.
            let used = try tx.records.auditEntries(AuditQuery(action: AccessAction.exportRead.rawValue, patron: pseudonym.description))
                .contains { $0.decision == .permit && LegalOrder.id(inAuditDetail: $0.detail) == id }
            if used { throw VaultError.integrity }
            guard let patron = try tx.records.patron(pseudonym: pseudonym) else {
                throw VaultError.notFound("the patron legal order \(id) concerns is no longer in the vault (erased)")
            }
            var reads = [AccessRequest(.exportRead, .export, patron: pseudonym, legalOrder: id, underApprovedOrder: true)]
            if order.scope != .registration {
                reads.append(AccessRequest(.historyRead, .history, patron: pseudonym, state: .closed, legalOrder: id, underApprovedOrder: true))
            }
            for request in reads { try tx.authorize(request) }
            var registration: PatronRegistration?
            var openLoans: [Loan] = []
            switch order.scope {
            case .history: break
            case .registration: registration = try tx.registration(of: patron)
            case .all:
                let profile = try tx.profile(of: patron)
                registration = profile.registration
                openLoans = profile.openLoans.filter(order.covers)
            }
            let history = order.scope == .registration ? [] : try tx.history(of: patron).filter(order.covers)
            order.disclosedBy = principal.id
            order.disclosedAt = tx.time
            try tx.records.replaceLegalOrder(try Self.seal(order, pseudonym: pseudonym, with: ring))
            return LegalDisclosure.Content(order: order, registration: registration, openLoans: openLoans, history: history, disclosedAt: tx.time)
        }
        return try LegalDisclosure(disclosed, signingKey: ring.exportSigningKey)
    }

    /// Every order, with its status today, for privacy officers and admins.
    public func list(by principal: Principal) async throws(VaultError) -> [ListedLegalOrder] {
        let ring = gate.ring
        return try await gate.write(principal, [AccessRequest(.legalOrderRead, .legalOrder)], readsOnly: true, readsTrail: true) { tx in
            let today = CalendarDay(tx.time)
            return try tx.records.legalOrders(patron: nil).map { stored throws(VaultError) in
                let order = try Self.open(stored, ring: ring)
                return ListedLegalOrder(order: order, status: order.status(on: today))
            }
        }
    }

    static func checkedID(_ id: String) throws(VaultError) -> String {
        guard id.count == 15, id.hasPrefix("LO-"), id.dropFirst(3).allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw VaultError.invalid("a legal order id looks like LO- and twelve hex digits")
        }
        return id
    }

    static func open(_ id: String, in tx: GatedTransaction, ring: KeyRing) throws -> (LegalOrder, PatronPseudonym) {
        guard let stored = try tx.records.legalOrder(id: id) else { throw VaultError.notFound("no legal order \(id)") }
        return (try open(stored, ring: ring), stored.patron)
    }

    /// Opens a stored order: the sealed payload must open under the order key with its id and
    /// patron as associated data, and name the same id and patron.
    static func open(_ stored: StoredLegalOrder, ring: KeyRing) throws(VaultError) -> LegalOrder {
        do {
            let plaintext = try XChaCha20Poly1305.open(stored.sealed, using: ring.legalOrderKey, authenticating: associatedData(stored.id, stored.patron))
            let order = try JSONDecoder().decode(LegalOrder.self, from: Data(plaintext))
            guard order.id == stored.id, order.patron == stored.patron.description else { throw VaultError.integrity }
            return order
        } catch {
            throw VaultError.integrity
        }
    }

    static func seal(_ order: LegalOrder, pseudonym: PatronPseudonym, with ring: KeyRing) throws(VaultError) -> StoredLegalOrder {
        let json: Data
        do { json = try JSONEncoder().encode(order) } catch { throw VaultError.storage("a legal order could not be encoded") }
        return StoredLegalOrder(
            id: order.id, patron: pseudonym,
            sealed: XChaCha20Poly1305.seal(Array(json), using: ring.legalOrderKey, authenticating: associatedData(order.id, pseudonym)))
    }

    private static func associatedData(_ id: String, _ patron: PatronPseudonym) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 64)
        writer.append("patronvault.legal-order")
        writer.append(id)
        writer.append(bytes: patron.bytes)
        return writer.bytes
    }
}

extension GatedTransaction {
    /// The patron's legal orders as the patron may know of them today: the ids whose notice is
    /// not yet due (their steps are held back from the patron's view of accesses and export),
    /// and the orders already due, to list.
    func legalOrdersNoticed(by patron: PatronPseudonym) throws -> (heldBack: Set<String>, due: [LegalOrder]) {
        let today = CalendarDay(time)
        var heldBack = Set<String>()
        var due: [LegalOrder] = []
        for stored in try records.legalOrders(patron: patron) {
            let order = try LegalOrders.open(stored, ring: ring)
            if order.noticeDue(on: today) { due.append(order) } else { heldBack.insert(order.id) }
        }
        return (heldBack, due)
    }
}
