import Foundation
import GRDB
import PatronVaultPolicy

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
        in db: Database
    ) throws {
        let request = PolicyRequest(
            principalKind: principal.kind.rawValue, principalRole: principal.roleName, principalID: principal.id,
            principalPatron: principal.pseudonym?.description, action: action.rawValue, resourceKind: resource.rawValue,
            resourcePatron: patron?.description, resourceState: state, purpose: purpose, consent: false, legalOrder: legalOrder,
            time: now, frontEnd: configuration.frontEnd.rawValue)
        let decision = policies.decide(request)
        guard decision.isPermitted else {
            throw AccessDenial(error: VaultError(.permissionDenied, "access denied: \(decision.reason)"))
        }
    }

    /// Runs an operation in one immediate write transaction on `vault.db`. A denial commits
    /// what was recorded about it and is thrown after the commit; any other failure rolls
    /// everything back, so nothing is half-written.
    func gatedWrite<T>(_ body: (Database) throws -> T) throws(VaultError) -> T {
        let outcome: Result<T, VaultError> = try run {
            try storage.records.write { db in
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
