import Foundation

/// The patron's choices about their reading history: purge what is kept, and whether returned
/// loans are kept at all. A purge destroys each loan's key, so every copy of the row (a backup,
/// the journal) can never be opened again; the anonymous statistics are never touched.
extension PatronSelfService {
    /// Destroys the patron's returned loans, all of them or those returned before `day` (a day
    /// that has not come yet is refused: it would purge loans not yet returned when asked).
    public func purgeHistory(before day: CalendarDay? = nil, by principal: Principal) async throws(VaultError) -> HistoryChange {
        let own = try Self.identity(principal, doing: "purge their own reading history")
        let (history, purged) = try await gate.write(principal, [AccessRequest(.historyPurge, .history, patron: own, state: .closed)]) { tx in
            if let day, day > CalendarDay(tx.time) {
                throw VaultError.invalid("the date to purge before is in the future; give today's date or an earlier one")
            }
            let patron = try tx.ownRow(own)
            // Loans are opened only to read their return dates; a purge of everything needs none,
            // and deletes them in one statement.
            let shreds = try day.map { day in
                try tx.historyRecords(of: patron).filter { CalendarDay($0.loan.returnedAt!) < day }.map { try tx.destroy($0.sealed, of: own) }
            } ?? tx.destroy(tx.checkedRows(of: patron).filter(RecordSelection.closedLoans.matches), of: own, selection: .closedLoans)
            // The preference reported comes from the sealed registration, never the plaintext
            // column an edit could flip.
            return (try tx.registration(of: patron).history, shreds)
        }
        return HistoryChange(history: history, purged: purged.count, shredsComplete: await finishShreds(purged))
    }

    /// Sets whether returned loans are kept. Choosing `discard` also destroys every loan kept so
    /// far, at once (a front end asks the patron to confirm first); choosing `keep` keeps loans
    /// returned from then on, never earlier ones, which were destroyed when they came back.
    public func setHistory(_ preference: HistoryPreference, by principal: Principal) async throws(VaultError) -> HistoryChange {
        let own = try Self.identity(principal, doing: "choose whether their history is kept")
        var requests = [AccessRequest(.historySetPreference, .registration, patron: own)]
        if preference == .discard { requests.append(AccessRequest(.historyPurge, .history, patron: own, state: .closed)) }
        let purged = try await gate.write(principal, requests) { tx in
            let patron = try tx.ownRow(own)
            var purged: [PendingShred] = []
            if preference == .discard {
                purged = try tx.destroy(tx.checkedRows(of: patron).filter(RecordSelection.closedLoans.matches), of: own, selection: .closedLoans)
            }
            let opened = try tx.openedRegistration(of: patron)
            if opened.registration.history != preference || patron.historyKeep != (preference == .keep) {
                var registration = opened.registration
                registration.history = preference
                try tx.reseal(opened.sealed, of: own, as: registration.encoded())
                try tx.records.setHistoryKeep(of: own, preference == .keep)
            }
            return purged
        }
        // The registration version with the old choice goes too.
        return HistoryChange(history: preference, purged: purged.count, shredsComplete: await finishShreds(purged))
    }

    /// Finishes the queued shreds; when loans were destroyed, also clears the record store's
    /// journal, so the deleted rows cannot be paired with the audit entry from a copy of it.
    /// The journal is cleared while the keys are destroyed in the other file: the deleted rows
    /// are in it since the commit, and the queue entries cleared afterwards are no loan's data.
    private func finishShreds(_ destroyed: [PendingShred]) async -> Bool {
        guard !destroyed.isEmpty else { return (try? await gate.storage.finishShreds(checking: gate.ring.recordSet)) == true }
        let storage = gate.storage
        async let purged = (try? await storage.records.purgeResidue()) == true
        let shredded = (try? await storage.finishShreds(destroyed, checking: gate.ring.recordSet)) == true
        return await purged && shredded
    }
}
