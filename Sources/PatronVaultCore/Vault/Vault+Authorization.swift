import Foundation
import GRDB
import PatronVaultPolicy
import PatronVaultAudit

/// A denial raised inside a write: the transaction still commits (so the record of the denied
/// attempt survives) and the front end gets the error once the transaction is over.
struct AccessDenial: Error {
    let error: VaultError
}

extension Vault {
    /// The one place every operation on patron data asks the policy engine. It runs inside the
    /// operation's write transaction, so the decision and the change it allows commit together.
    func authorize(
        _ principal: Principal, _ action: AccessAction, _ resource: ResourceKind,
        patron: PatronPseudonym? = nil, state: String? = nil, purpose: String? = nil, legalOrder: Bool = false,
        recordingRequired: Bool = true, in db: Database
    ) throws {
        let request = PolicyRequest(
            principalKind: principal.kind.rawValue, principalRole: principal.roleName, principalID: principal.id,
            principalPatron: principal.pseudonym?.description, action: action.rawValue, resourceKind: resource.rawValue,
            resourcePatron: patron?.description, resourceState: state, purpose: purpose, consent: false, legalOrder: legalOrder,
            time: now, frontEnd: configuration.frontEnd.rawValue)
        let decision = policies.decide(request)
        if recordingRequired {
            try record(decision, principal: principal, action: action, resource: resource, patron: patron, purpose: purpose, in: db)
        } else {
            // Only verification runs on without its entry: it changes nothing, and it must still
            // work on a trail that can no longer be extended, to say where it broke. The savepoint
            // keeps a half-written entry from being committed.
            do {
                try db.inSavepoint {
                    try record(decision, principal: principal, action: action, resource: resource, patron: patron, purpose: purpose, in: db)
                    return .commit
                }
            } catch let error as VaultError where error.kind == .auditFailure {}
        }
        guard decision.isPermitted else {
            throw AccessDenial(error: VaultError(.permissionDenied, "access denied: \(decision.reason)"))
        }
    }

    /// Appends the decision to the audit trail in the operation's transaction: if it cannot be
    /// recorded, the operation fails. A purpose outside the schema's list is recorded only as
    /// unlisted, since free text typed at a desk could carry a patron's name.
    private func record(
        _ decision: PolicyDecision, principal: Principal, action: AccessAction, resource: ResourceKind,
        patron: PatronPseudonym?, purpose: String?, in db: Database
    ) throws {
        let draft = AuditDraft(
            time: now, principalKind: principal.kind.rawValue, principalID: principal.id, principalRole: principal.roleName,
            action: action.rawValue, resourceKind: resource.rawValue, patron: patron?.description,
            purpose: purpose.map { listedPurposes.contains($0) ? $0 : "(unlisted)" },
            decision: decision.isPermitted ? .permit : .forbid, ruleIDs: decision.ruleIDs, policyDigest: policies.digest,
            frontEnd: configuration.frontEnd.rawValue, keyVersion: Int(keyRing.kekVersion))
        do {
            try audit.append(draft, in: db)
        } catch {
            throw VaultError(.auditFailure, "the audit trail could not record this access, so nothing was done (run 'patronvault audit verify')")
        }
    }

    /// Runs an operation in one immediate write transaction on `vault.db`. A denial commits
    /// what was recorded about it and is thrown after the commit; any other failure rolls
    /// everything back, so nothing is half-written.
    func gatedWrite<T>(_ body: (Database) throws -> T) throws(VaultError) -> T {
        let outcome: Result<T, VaultError> = try run {
            try storage.records.write { db in
                // The last patron and record keys used must not outlive the operation.
                defer { slots.wipe() }
                do {
                    return .success(try body(db))
                } catch let denial as AccessDenial {
                    return .failure(denial.error)
                }
            }
        }
        return try outcome.get()
    }
}
