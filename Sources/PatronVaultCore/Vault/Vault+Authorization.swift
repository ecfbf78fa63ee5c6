import Foundation
import GRDB

/// A denial raised inside a write: the transaction still commits (so the record of the denied
/// attempt survives) and the front end gets the error once the transaction is over.
struct AccessDenial: Error {
    let error: VaultError
}

extension Vault {
    /// The one place every operation on patron data asks the gate. It runs inside the
    /// operation's write transaction, so the decision and the change it allows commit together.
    func authorize(
        _ principal: Principal, _ action: AccessAction, _ resource: ResourceKind,
        patron: PatronPseudonym? = nil, state: String? = nil, purpose: String? = nil, legalOrder: Bool = false,
        in db: Database
    ) throws {
        let query = AccessQuery(
            principal: principal, action: action, resourceKind: resource, patron: patron, state: state,
            purpose: purpose, legalOrder: legalOrder, time: now, frontEnd: configuration.frontEnd)
        let verdict = gate.decide(query)
        guard verdict.permitted else {
            let rules = verdict.ruleIDs.isEmpty ? "" : " [\(verdict.ruleIDs.joined(separator: ", "))]"
            throw AccessDenial(error: VaultError(.permissionDenied, "access denied\(rules): \(verdict.reason)"))
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
