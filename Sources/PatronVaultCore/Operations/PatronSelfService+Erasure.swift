import Foundation

extension PatronSelfService {
    /// Erases the signed-in patron's account: every record and key, the blind indexes that could
    /// find them, their PIN state. Refused while loans are out. What stays: the anonymous
    /// statistics and the audit entries, which name only a pseudonym nothing links to them now.
    public func eraseMe(by principal: Principal) async throws(VaultError) -> ErasureReceipt {
        let own = try Self.identity(principal, doing: "erase their own account")
        let erased = try await gate.write(principal, [AccessRequest(.patronErase, .registration, patron: own)]) { tx in
            let erasure = try tx.erase(tx.ownRow(own))
            return ErasedAccount(patron: own, time: tx.time, erasure: erasure, earlierEntries: try tx.records.auditEntries(.concerning(patron: own.description)).count)
        }
        return await gate.finishErasure(erased)
    }
}

/// An erasure that has committed, before its keys are destroyed.
struct ErasedAccount: Sendable {
    let patron: PatronPseudonym
    let time: Date
    let erasure: (records: Int, history: Int, shreds: [PendingShred])
    let earlierEntries: Int
}

extension Gate {
    /// Destroys an erased account's keys (its record keys through the queued shreds, then the
    /// patron key and any record key left under it) and both journals' residue, and makes the
    /// receipt. A step that cannot finish now (a reader holding a journal) is reported in the
    /// receipt and finished by the next maintenance pass: the account's rows are gone already,
    /// and keys without rows are swept.
    func finishErasure(_ erased: ErasedAccount) async -> ErasureReceipt {
        let shredded = (try? await storage.finishShreds(erased.erasure.shreds, checking: ring.recordSet)) == true
        let destroyed = (try? await storage.keys.destroyPatronKeys([erased.patron])) == true
        let purged = (try? await storage.records.purgeResidue()) == true
        return ErasureReceipt(
            erasedAt: erased.time, recordsDestroyed: erased.erasure.records, historyDestroyed: erased.erasure.history,
            auditEntriesKept: erased.earlierEntries, keysDestroyed: shredded && destroyed && purged, policyDigest: policies.digest,
            signingKey: ring.exportSigningKey)
    }
}
