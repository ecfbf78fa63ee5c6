import Foundation
import PatronVaultAudit
import PatronVaultPolicy

/// Proof that the gate opened a transaction. Its initialiser is private to this file, and every
/// store call that reads or changes patron data takes one, so no operation can reach a record
/// without passing the gate first.
package struct GatePass: Sendable {
    fileprivate init() {}
}

/// The one door to patron data: it decides each request at action level before any lookup,
/// hands out the transaction, and appends every decision to the audit trail in that same
/// transaction, so a change and the record of who made it commit together. Every outcome,
/// "not found" included, leaves an entry.
final class Gate: Sendable {
    let storage: VaultStorage
    let ring: KeyRing
    let slots: KeySlotPool
    let policies: PolicySet
    let trail: AuditTrail
    let clock: any VaultClock
    let frontEnd: FrontEnd
    /// Purposes the schema lists; anything else a person typed is not copied into the audit trail.
    let listedPurposes: Set<String>
    /// The schema's fields, resolved to what staff views show.
    let views: ViewFields

    init(storage: VaultStorage, ring: KeyRing, policies: PolicySet, configuration: VaultConfiguration) {
        self.storage = storage
        self.ring = ring
        self.policies = policies
        slots = KeySlotPool()
        trail = AuditTrail(signingKey: ring.auditSigningKey, macKey: ring.auditMACKey, checkpointInterval: configuration.auditCheckpointInterval)
        clock = configuration.clock
        frontEnd = configuration.frontEnd
        listedPurposes = Set(policies.schema.members(of: "purpose"))
        views = ViewFields(schema: policies.schema)
    }

    /// How strictly the decision must be on record before the operation runs.
    enum Recording: Sendable {
        /// The operation fails if its entry cannot be appended.
        case required
        /// Only for verification: it changes nothing, and must still run on a trail that can no
        /// longer be extended, to say where it broke.
        case bestEffort
    }

    /// Decides `requests` for `principal`, then runs `body` in one write transaction. A refusal
    /// at action level is recorded and thrown before `body` runs. A refusal, "not found" or
    /// other outcome inside `body` undoes its changes but keeps its audit entries.
    ///
    /// `subject` names the patron a refused request was about, for the record only: it runs after
    /// the refusal is decided, and its answer changes neither the decision nor the reply (an
    /// unknown card is refused the same way), but it lets the patron see the attempt among their
    /// accesses.
    ///
    /// `readsOnly` says `body` changes no row (a lookup): it then runs without a savepoint, as
    /// there is nothing to undo; its decisions are still appended in the transaction.
    /// `readsTrail` says it also reads the audit trail or legal orders, which appends change
    /// without raising the change mark: a snapshot cannot answer it, so it runs under the lock
    /// from the start rather than try one first.
    ///
    /// `storingKeys` (a bulk import) commits keys to the key store while `body` writes the
    /// records, once the transaction holds the write lock; the records commit after it.
    func write<T: Sendable>(
        _ principal: Principal, _ requests: [AccessRequest], subject: PatronSubject? = nil,
        storingKeys storeKeys: (@Sendable (KeyStoreWriter) async throws -> Void)? = nil,
        readsOnly: Bool = false, readsTrail: Bool = false, _ body: @escaping @Sendable (inout GatedTransaction) throws -> T
    ) async throws(VaultError) -> T {
        let time = clock.now()
        let decisions = requests.map { decide(principal, $0, time: time) }
        let pass = GatePass()
        let ring = ring
        let written = WrittenKeys()
        let transactionBody: @Sendable (any RecordTransaction) throws -> Result<T, VaultError> = { records in
            var transaction = try GatedTransaction(
                gate: self, principal: principal, records: records, time: time, actionLevel: decisions, written: written)
            if let refused = decisions.first(where: { !$0.decision.isPermitted }) {
                if let patron = try subject?.pseudonym(in: records, ring: ring) { transaction.attribute(to: patron) }
                try transaction.recordAll(required: true)
                return .failure(Self.denial(refused.decision))
            }
            let result: Result<T, VaultError>
            do {
                result = .success(readsOnly ? try body(&transaction) : try records.undoable { try body(&transaction) })
            } catch let denial as AccessDenial {
                result = .failure(denial.error)
            } catch let error as VaultError where Self.isOutcome(error) {
                result = .failure(error)
            }
            try transaction.recordAll(required: true)
            return result
        }
        if readsOnly, !readsTrail, storeKeys == nil, storage.records.readsLookupsOnSnapshots, !decisions.contains(where: { !$0.decision.isPermitted }) {
            return try await lookUp(principal, decisions: decisions, time: time, body, underLock: transactionBody)
        }
        let outcome: Result<T, VaultError>
        do {
            if let storeKeys {
                outcome = try await storage.write(pass, noting: written, storingKeys: storeKeys, transactionBody)
            } else {
                outcome = try await storage.records.write(pass, transactionBody)
            }
        } catch {
            written.discard(from: storage.keys)
            throw Self.vaultError(error)
        }
        if case .failure = outcome { written.discard(from: storage.keys) }
        // The records committed: their new keys join their patrons' record sets. If this fails,
        // the keys stay unsettled (a read accepts a row whose unsettled key holds its element)
        // and the next open or maintenance pass settles them.
        _ = try? await storage.keys.settle(written.unsettled())
        return try outcome.get()
    }

    /// A lookup on a store that reads on snapshots: `body` runs on a reader snapshot, its
    /// entries are kept, and the writer appends them only if no change has committed since the
    /// snapshot was taken (the change marks agree), so the answer is exactly what the same
    /// lookup under the write lock would have given at the moment its entries were appended.
    /// If a change came between, `underLock` runs the lookup again in the writer's transaction
    /// and its answer is the one given. An answer that is not a plain outcome (an integrity
    /// failure, a storage error, a body that tried to change a row) is never taken from a
    /// snapshot: the lookup runs again under the lock, which answers it with authority. No
    /// answer leaves this function before its entries are committed.
    private func lookUp<T: Sendable>(
        _ principal: Principal, decisions: [RecordedDecision], time: Date, _ body: @escaping @Sendable (inout GatedTransaction) throws -> T,
        underLock: @escaping @Sendable (any RecordTransaction) throws -> Result<T, VaultError>
    ) async throws(VaultError) -> T {
        let pass = GatePass()
        let read: SnapshotLookup<T>?
        do {
            read = try await storage.records.readLookup(pass) { reader -> SnapshotLookup<T>? in
                let records = SnapshotTransaction(reader)
                var transaction = try GatedTransaction(gate: self, principal: principal, records: records, time: time, actionLevel: decisions)
                let result: Result<T, VaultError>
                do {
                    result = .success(try body(&transaction))
                } catch let denial as AccessDenial {
                    result = .failure(denial.error)
                } catch let error as VaultError where Self.isOutcome(error) && error.kind != .integrityFailure && error.kind != .corruptVault {
                    result = .failure(error)
                } catch is VaultError {
                    return nil
                }
                try transaction.recordAll(required: true)
                // Asked last, of the same snapshot: a store may have read it along with the rows.
                guard let mark = try reader.changeMark() else { return nil }
                return SnapshotLookup(result: result, drafts: records.drafts, mark: mark)
            }
        } catch {
            read = nil
        }
        let trail = trail
        let outcome: Result<T, VaultError>
        do {
            outcome = try await storage.records.write(pass) { records in
                guard let read, try records.changeMark() == read.mark else { return try underLock(records) }
                do {
                    try records.appendAudit(read.drafts, to: trail)
                } catch {
                    throw VaultError.unrecorded
                }
                return read.result
            }
        } catch {
            throw Self.vaultError(error)
        }
        return try outcome.get()
    }

    /// Decides and records `requests` in a short write transaction, then runs `body` on a reader
    /// snapshot, so a long read never holds up the writes other requests make.
    func read<T: Sendable>(
        _ principal: Principal, _ requests: [AccessRequest], recording: Recording = .required,
        _ body: @escaping @Sendable (any RecordReader) throws -> T
    ) async throws(VaultError) -> T {
        let time = clock.now()
        let decisions = requests.map { decide(principal, $0, time: time) }
        let pass = GatePass()
        do {
            try await storage.records.write(pass) { records in
                var transaction = try GatedTransaction(gate: self, principal: principal, records: records, time: time, actionLevel: decisions)
                try transaction.recordAll(required: recording == .required)
            }
        } catch {
            throw Self.vaultError(error)
        }
        if let refused = decisions.first(where: { !$0.decision.isPermitted }) { throw Self.denial(refused.decision) }
        do {
            return try await storage.records.read(pass, body)
        } catch {
            throw Self.vaultError(error)
        }
    }

    /// Verifies the trail on a reader snapshot for the vault's own health check. No person asks
    /// and no record is opened, so nothing is recorded: a trail checked every few minutes would
    /// otherwise grow by its own checks.
    func verifyTrail(against external: AuditCheckpoint? = nil) async throws(VaultError) -> AuditVerification {
        let verifier = AuditVerifier(keys: ring.auditKeys, macKey: ring.auditMACKey, checkpointInterval: trail.checkpointInterval)
        let outcome: Result<AuditVerification, VaultError>
        do {
            outcome = try await storage.records.read(GatePass()) { reader in
                do {
                    return .success(try reader.verifyAudit(with: verifier, against: external))
                } catch let error as AuditError {
                    return .failure(VaultError(.integrityFailure, "audit trail verification failed: \(error.description)"))
                }
            }
        } catch {
            throw Self.vaultError(error)
        }
        return try outcome.get()
    }

    /// Decides `requests` without a transaction, recording only a refusal; for work that must
    /// be allowed before it starts (sealing an import) and is recorded when it is written.
    func precheck(_ principal: Principal, _ requests: [AccessRequest]) async throws(VaultError) {
        let time = clock.now()
        let decisions = requests.map { decide(principal, $0, time: time) }
        guard let refused = decisions.first(where: { !$0.decision.isPermitted }) else { return }
        do {
            try await storage.records.write(GatePass()) { records in
                var transaction = try GatedTransaction(gate: self, principal: principal, records: records, time: time, actionLevel: decisions)
                try transaction.recordAll(required: true)
            }
        } catch {
            throw Self.vaultError(error)
        }
        throw Self.denial(refused.decision)
    }

    /// A transaction for proving who someone is (token or card and PIN), before there is a
    /// principal to decide for.
    func signIn<T: Sendable>(_ body: @escaping @Sendable (SignInTransaction) throws -> T) async throws(VaultError) -> T {
        do {
            return try await storage.records.write(GatePass()) { records in
                try body(SignInTransaction(records: records, keyStore: self.storage.keys, keys: try OperationKeys(ring: self.ring, pool: self.slots)))
            }
        } catch {
            throw Self.vaultError(error)
        }
    }

    /// The staff account a token hash belongs to: the one read sign-in makes for staff, and all
    /// it can see. The row must agree with its seal in the key store.
    func staffAccount(tokenHash: [UInt8]) async throws(VaultError) -> StaffAccount? {
        do {
            guard let row = try await storage.records.staffRow(GatePass(), tokenHash: tokenHash) else { return nil }
            let seal = try await storage.keys.readStaffSeal(id: row.account.id)
            if ring.staffSeal.vouches(for: row, tag: seal) { return row.account }
            // A revocation commits its row before its seal: a row read just before a revocation
            // and a seal read just after it disagree. The row read again is the revoked one.
            guard let again = try await storage.records.staffRow(GatePass(), tokenHash: tokenHash) else { return nil }
            return try verified(again, seal: seal)
        } catch {
            throw Self.vaultError(error)
        }
    }

    /// A staff row believed only when its seal vouches for it: a role, name or token hash edited,
    /// an account added by hand or a revoked one copied back as active is an integrity failure.
    func verified(_ row: StaffRow, seal: [UInt8]?) throws(VaultError) -> StaffAccount {
        guard ring.staffSeal.vouches(for: row, tag: seal) else { throw .integrity }
        return row.account
    }

    /// Records a card-and-PIN sign-in that failed (wrong PIN, no PIN set, locked card, unknown
    /// card): against the card's patron when the card is known, so they see it among their
    /// accesses, and without one otherwise. Not a policy decision, so no rule is named. Best
    /// effort: the sign-in fails whether or not the entry could be written.
    func recordFailedSignIn(patron: PatronPseudonym?) async {
        let draft = AuditDraft(
            time: clock.now(), principalKind: patron == nil ? "unidentified" : Principal.Kind.patron.rawValue,
            principalID: patron?.description ?? "unknown-card", principalRole: patron == nil ? "none" : "patron",
            action: AccessAction.patronSignIn.rawValue, resourceKind: ResourceKind.registration.rawValue, patron: patron?.description,
            purpose: nil, decision: .forbid, ruleIDs: [], policyDigest: policies.digest, frontEnd: frontEnd.rawValue,
            keyVersion: Int(ring.kekVersion))
        let trail = trail
        _ = try? await storage.records.write(GatePass()) { records in try records.appendAudit(draft, to: trail) }
    }

    /// The first admin of a new vault, before anyone can be asked: refused once any staff
    /// account exists, so it cannot serve as a way around the gate.
    func createFirstAdmin(_ account: StaffAccount, tokenHash: [UInt8]) async throws(VaultError) {
        let written = WrittenKeys()
        let seal = KeyBatch(staffSeals: [(account.id, ring.staffSeal.tag(of: account, tokenHash: tokenHash, revoked: false))])
        do {
            try await storage.records.write(GatePass()) { [storage] records in
                guard try records.allStaff().isEmpty else { throw VaultError(.alreadyExists, "this vault already has staff accounts") }
                try storage.storeKeys(seal, noting: written)
                try records.insertStaff(account, tokenHash: tokenHash)
            }
        } catch {
            written.discard(from: storage.keys)
            throw Self.vaultError(error)
        }
    }

    func decide(_ principal: Principal, _ request: AccessRequest, time: Date) -> RecordedDecision {
        let policyRequest = PolicyRequest(
            principalKind: principal.kind.rawValue, principalRole: principal.roleName, principalID: principal.id,
            principalPatron: principal.pseudonym?.description, action: request.action.rawValue, resourceKind: request.resource.rawValue,
            resourcePatron: request.patron?.description, resourceState: request.state, purpose: request.purpose, consent: false, legalOrder: request.underApprovedOrder,
            time: time, frontEnd: frontEnd.rawValue)
        return RecordedDecision(request: request, decision: policies.decide(policyRequest))
    }

    /// The audit entry for one decision. A purpose outside the schema's list is recorded only as
    /// unlisted, since free text typed at a desk could carry a patron's name.
    func draft(_ decided: RecordedDecision, principal: Principal, time: Date) -> AuditDraft {
        AuditDraft(
            time: time, principalKind: principal.kind.rawValue, principalID: principal.id, principalRole: principal.roleName,
            action: decided.request.action.rawValue, resourceKind: decided.request.resource.rawValue, patron: decided.request.patron?.description,
            purpose: decided.request.purpose.map { listedPurposes.contains($0) ? $0 : "(unlisted)" },
            decision: decided.decision.isPermitted ? .permit : .forbid, ruleIDs: decided.decision.ruleIDs, policyDigest: policies.digest,
            frontEnd: frontEnd.rawValue, keyVersion: Int(ring.kekVersion), detail: decided.request.legalOrder.map(LegalOrder.auditDetail))
    }

    static func denial(_ decision: PolicyDecision) -> VaultError {
        VaultError(.permissionDenied, "access denied: \(decision.reason)", ruleIDs: decision.ruleIDs)
    }

    /// Failures that answer the request (and so are recorded with it) rather than break it.
    private static func isOutcome(_ error: VaultError) -> Bool {
        switch error.kind {
        case .invalidInput, .notFound, .alreadyExists, .permissionDenied, .integrityFailure, .corruptVault, .lockedOut, .authenticationFailed, .conflict: true
        default: false
        }
    }

    static func vaultError(_ error: any Error) -> VaultError {
        if let error = error as? VaultError { return error }
        if let denial = error as? AccessDenial { return denial.error }
        return .storage("the vault storage failed")
    }
}

extension VaultError {
    /// An access whose entry could not be appended: it is refused, never done unrecorded.
    static var unrecorded: VaultError {
        VaultError(.auditFailure, "the audit trail could not record this access, so nothing was done (verify the audit trail)")
    }
}

/// How to find the patron a request is about, used only to attribute a refusal.
enum PatronSubject: Sendable {
    case card(String)
    case item(String)

    func pseudonym(in records: any RecordReader, ring: KeyRing) throws -> PatronPseudonym? {
        switch self {
        case .card(let card): try records.patron(cardIndex: ring.card.index(of: card))?.pseudonym
        case .item(let item): try records.openLoan(itemIndex: ring.item.index(of: item))?.patron
        }
    }
}

/// A lookup answered on a reader snapshot, with the entries to append and the change mark the
/// snapshot saw.
struct SnapshotLookup<T: Sendable>: Sendable {
    let result: Result<T, VaultError>
    let drafts: [AuditDraft]
    let mark: Int64
}

/// A decision and the request it answered, waiting to be recorded.
struct RecordedDecision: Sendable {
    let request: AccessRequest
    let decision: PolicyDecision
}

/// A refusal raised inside a transaction: the gate records it and throws it once the
/// transaction has committed.
struct AccessDenial: Error {
    let error: VaultError
}
