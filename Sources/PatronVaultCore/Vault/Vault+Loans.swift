import Foundation
import GRDB
import PatronVaultCrypto

extension Vault {
    /// Lends an item: the loan is sealed under a fresh record key wrapped by the patron's key,
    /// with only a blind index of the item barcode in the clear while it is out.
    public func checkout(
        card: String, item: String, title: String, author: String?, due: CalendarDay?, branch: String?, by principal: Principal
    ) throws(VaultError) -> Loan {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let item = try FieldRules.barcode(item, field: "item barcode")
        let title = try FieldRules.text(title, field: "title")
        let author = try FieldRules.optionalText(author, field: "author")
        let branch = try FieldRules.optionalText(branch, field: "branch") ?? configuration.defaultBranch
        let checkedOutAt = now
        let today = CalendarDay(checkedOutAt)
        let dueOn = due ?? today.adding(days: configuration.defaultLoanDays)
        guard today <= dueOn else { throw VaultError.invalid("due date is in the past") }
        let itemIndex = keyRing.item.index(of: item)
        let loan = Loan(itemBarcode: item, title: title, author: author, branch: branch, checkedOutAt: checkedOutAt, dueOn: dueOn)
        return try gatedWrite { db in
            let patron = try patronRow(card: card, in: db)
            try authorize(principal, .loanCheckout, .loan, patron: patron.pseudonym, state: RecordState.open.name, in: db)
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM record WHERE item_index = ?"), arguments: [Data(itemIndex)]) == true {
                throw VaultError(.alreadyExists, "that item is already checked out; return it first")
            }
            _ = try unlock(patron.pseudonym)
            let id = RecordID.random()
            let (sealed, wrappedKey) = sealNew(loan.encoded(), kind: .loan, id: id, patron: patron.pseudonym)
            try storeKeys(patronKey: nil, recordKeys: [(id, patron.pseudonym, wrappedKey)])
            do {
                try insertRecord(id: id, patron: patron.pseudonym, kind: .loan, itemIndex: itemIndex, opened: today, due: dueOn, sealed: sealed, in: db)
            } catch {
                discardKeys(patron: patron.pseudonym, includingPatronKey: false, records: [id])
                throw error
            }
            return loan
        }
    }

    /// Takes an item back. For a patron who keeps history the loan is resealed as closed
    /// history; otherwise its row is deleted and its record key shredded, leaving only the
    /// anonymous statistic (item, branch, month). The shred is queued in the same transaction
    /// as the deletion and finished before this returns, or on the next open after a crash.
    public func returnItem(_ item: String, by principal: Principal) throws(VaultError) -> LoanReturn {
        let item = try FieldRules.barcode(item, field: "item barcode")
        let itemIndex = keyRing.item.index(of: item)
        let returnedAt = now
        let today = CalendarDay(returnedAt)
        let result: LoanReturn = try gatedWrite { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, kind, sealed, patron FROM record WHERE item_index = ?"), arguments: [Data(itemIndex)]) else {
                throw VaultError.notFound("that item is not checked out")
            }
            let record = SealedRecord(row)
            let pseudonym = PatronPseudonym(bytes: Array(row["patron"] as Data))
            guard let patronRow = try patronRow(pseudonym: pseudonym, in: db) else {
                throw VaultError(.corruptVault, "a loan belongs to a patron missing from the vault")
            }
            try authorize(principal, .loanReturn, .loan, patron: pseudonym, state: RecordState.open.name, in: db)
            // The history preference and the loan's state are taken from the sealed records, so an
            // edited plaintext column cannot turn a destroying return into a kept one.
            let registrationRecord = try sealedRecord(id: patronRow.registrationID, patron: pseudonym, in: db)
            let opened = try openRecords([registrationRecord, record], of: pseudonym)
            let keepsHistory = try PatronRegistration(decoding: opened[0]).history == .keep
            var loan = try Loan(decoding: opened[1])
            guard loan.returnedAt == nil, keepsHistory == patronRow.historyKeep else { throw VaultError.integrity }
            try db.execute(
                sql: """
                    INSERT INTO circulation_stat(item_barcode, branch, month, returns) VALUES (?, ?, ?, 1)
                    ON CONFLICT(item_barcode, branch, month) DO UPDATE SET returns = returns + 1
                    """,
                arguments: [loan.itemBarcode, loan.branch, today.month])
            if keepsHistory {
                loan.returnedAt = returnedAt
                let sealed = reseal(loan.encoded(), kind: .loan, id: record.id, patron: pseudonym)
                try db.execute(
                    sql: "UPDATE record SET state = 1, item_index = NULL, closed_day = ?, sealed = ? WHERE patron = ? AND id = ?",
                    arguments: [today.daysSinceEpoch, Data(sealed), Data(pseudonym.bytes), Data(record.id.bytes)])
                return LoanReturn(itemBarcode: item, outcome: .keptAsHistory)
            }
            try db.execute(sql: "DELETE FROM record WHERE patron = ? AND id = ?", arguments: [Data(pseudonym.bytes), Data(record.id.bytes)])
            try db.execute(sql: "INSERT INTO pending_shred(record_id, patron) VALUES (?, ?)", arguments: [Data(record.id.bytes), Data(pseudonym.bytes)])
            return LoanReturn(itemBarcode: item, outcome: .destroyed)
        }
        guard result.outcome == .destroyed else { return result }
        // The return has committed: a shred that cannot finish now stays queued and is reported
        // as pending, never as a failed return that a retry would call "not checked out".
        let shredded = (try? finishPendingShreds()) == true
        // The commit that deleted the loan also counted the anonymous statistic and recorded the
        // return against the patron's pseudonym; truncating the WAL keeps the two from being
        // paired from a copy of it. Best effort: a reader holding the WAL open delays it.
        _ = try? storage.records.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        if !shredded {
            return LoanReturn(itemBarcode: result.itemBarcode, outcome: .destroyedShredPending)
        }
        return result
    }
}
