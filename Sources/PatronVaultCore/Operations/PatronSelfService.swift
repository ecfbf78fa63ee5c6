import Foundation

/// What patrons do with their own data once signed in with card and PIN: see their account,
/// their reading history and who looked at their record, and change their PIN. Their own
/// pseudonym is known without a lookup, so every request names it from the start.
public struct PatronSelfService: Sendable {
    let gate: Gate
    let configuration: VaultConfiguration
    let derivations: KeyDerivationQueue

    /// The patron's own account: registration, the loans they have out, and fees they owe.
    public func myProfile(by principal: Principal) async throws(VaultError) -> PatronProfile {
        let own = try Self.identity(principal)
        let requests = [
            AccessRequest(.patronRead, .registration, patron: own, state: .open),
            AccessRequest(.loanReadOpen, .loan, patron: own, state: .open),
            AccessRequest(.loanReadHeld, .loan, patron: own, state: .held),
        ]
        return try await gate.write(principal, requests, readsOnly: true) { tx in try tx.profile(of: tx.ownRow(own)) }
    }

    /// The patron's reading history: returned loans kept because they opted in. Nobody else
    /// can read it.
    public func myHistory(by principal: Principal) async throws(VaultError) -> [Loan] {
        let own = try Self.identity(principal)
        return try await gate.write(principal, [AccessRequest(.historyRead, .history, patron: own, state: .closed)], readsOnly: true) { tx in
            try tx.history(of: tx.ownRow(own))
        }
    }

    /// The patron changes their own PIN (after signing in with the current one): the way to take
    /// back an account whose PIN a staff member set at the desk.
    public func changeOwnPIN(to newPIN: [UInt8], by principal: Principal) async throws(VaultError) {
        let own = try Self.identity(principal)
        let pinHash = try await derivations.hashPIN(try FieldRules.pin(newPIN), limits: configuration.pinLimits)
        try await gate.write(principal, [AccessRequest(.patronChangePIN, .registration, patron: own)]) { tx in
            try tx.replacePINHash(of: tx.ownRow(own), with: pinHash)
        }
        // The version with the old PIN: its key goes now, or on the next pass.
        _ = try? await gate.storage.finishShreds(checking: gate.ring.recordSet)
    }

    /// Who looked at my record, when and why, including refused attempts, and failed sign-ins
    /// with my card.
    public func myAccesses(by principal: Principal) async throws(VaultError) -> [RecordAccess] {
        let own = try Self.identity(principal, doing: "see who looked at their record")
        return try await gate.write(principal, [AccessRequest(.auditReadOwn, .audit, patron: own)], readsOnly: true, readsTrail: true) { tx in
            let names = Dictionary(try tx.verified(tx.records.allStaff()).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            let heldBack = try tx.legalOrdersNoticed(by: own).heldBack
            return try tx.records.auditEntries(.concerning(patron: own.description)).compactMap { entry in
                let order = LegalOrder.id(inAuditDetail: entry.detail)
                if let order, heldBack.contains(order) { return nil }
                let kind: RecordAccess.Kind
                if entry.principalKind == Principal.Kind.staff.rawValue {
                    kind = .staff
                } else if entry.action == AccessAction.patronSignIn.rawValue {
                    kind = .failedSignIn
                } else {
                    return nil
                }
                return RecordAccess(
                    kind: kind, time: entry.time, staffName: names[entry.principalID], staffID: kind == .staff ? entry.principalID : "",
                    role: entry.principalRole, action: entry.action, purpose: entry.purpose, permitted: entry.decision == .permit, legalOrder: order,
                    revealed: ViewFields.revealedNames(inAuditDetail: entry.detail))
            }
        }
    }

    static func identity(_ principal: Principal, doing what: String = "use their own account") throws(VaultError) -> PatronPseudonym {
        guard let pseudonym = principal.pseudonym else {
            throw VaultError(.permissionDenied, "access denied: only a patron signed in with card and PIN can \(what)")
        }
        return pseudonym
    }
}

extension GatedTransaction {
    /// The signed-in patron's own row.
    func ownRow(_ pseudonym: PatronPseudonym) throws -> PatronRow {
        guard let row = try records.patron(pseudonym: pseudonym) else {
            throw VaultError.notFound("this patron account no longer exists")
        }
        return row
    }
}
