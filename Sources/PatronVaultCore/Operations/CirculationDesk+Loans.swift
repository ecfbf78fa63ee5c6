import Foundation

extension CirculationDesk {
    /// Lends an item: the loan is sealed under a fresh record key wrapped by the patron's key,
    /// with only a blind index of the item barcode in the clear while it is out.
    public func checkout(
        card: String, item: String, title: String, author: String?, due: CalendarDay?, branch: String?, by principal: Principal
    ) async throws(VaultError) -> Loan {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let item = try FieldRules.barcode(item, field: "item barcode")
        let title = try FieldRules.text(title, field: "title")
        let author = try FieldRules.optionalText(author, field: "author")
        let branch = try FieldRules.optionalText(branch, field: "branch") ?? configuration.defaultBranch
        let today = CalendarDay(gate.clock.now())
        let dueOn = due ?? today.adding(days: configuration.defaultLoanDays)
        guard today <= dueOn else { throw VaultError.invalid("due date is in the past") }
        let ring = gate.ring
        return try await gate.write(principal, [AccessRequest(.loanCheckout, .loan, state: .open)], subject: .card(card)) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            let itemIndex = ring.item.index(of: item)
            if try tx.records.openLoan(itemIndex: itemIndex) != nil {
                throw VaultError(.alreadyExists, "that item is already checked out; return it first")
            }
            let loan = Loan(itemBarcode: item, title: title, author: author, branch: branch, checkedOutAt: tx.time, dueOn: dueOn)
            // Opening the registration loads the patron key and checks the card inside it.
            _ = try tx.registration(of: patron)
            let id = RecordID.random()
            let (sealed, key) = try tx.keys.sealNew(loan.encoded(), kind: .loan, id: id)
            try tx.store(
                records: [NewRecord(
                    patron: patron.pseudonym, id: id, kind: .loan, state: .open, itemIndex: itemIndex, openedDay: CalendarDay(tx.time),
                    dueDay: dueOn, closedDay: nil, version: 1, sealed: sealed)],
                keys: KeyBatch(recordKeys: [key]))
            return loan
        }
    }

    /// Takes an item back. For a patron who keeps history the loan is resealed as closed
    /// history; otherwise its row is deleted and its record key shredded, leaving only the
    /// anonymous statistic (item, branch, month). The shred is queued in the same transaction
    /// as the deletion and finished before this returns, or by the next maintenance pass.
    /// With a `fee` (in minor units) the loan is held, sealed with the fee, whatever the
    /// patron's choice, until the fee is settled (`settleFee`).
    public func returnItem(_ item: String, fee: Int64? = nil, by principal: Principal) async throws(VaultError) -> LoanReturn {
        let item = try FieldRules.barcode(item, field: "item barcode")
        if let fee, !(1...LoanFee.maximum).contains(fee) { throw VaultError.invalid("a fee must be more than 0.00 and at most \(LoanFee.text(LoanFee.maximum))") }
        let itemIndex = gate.ring.item.index(of: item)
        let result: LoanReturn = try await gate.write(principal, [AccessRequest(.loanReturn, .loan, state: .open)], subject: .item(item)) { tx in
            guard let found = try tx.records.openLoan(itemIndex: itemIndex) else {
                throw VaultError.notFound("that item is not checked out")
            }
            guard let patron = try tx.records.patron(pseudonym: found.patron) else {
                throw VaultError(.corruptVault, "a loan belongs to a patron missing from the vault")
            }
            try tx.authorize(about: patron.pseudonym)
            // The history preference and the loan's state are taken from the sealed records, so an
            // edited plaintext column cannot turn a destroying return into a kept one.
            let opened = try tx.openRecords([tx.sealedRegistration(of: patron), found.record], of: patron.pseudonym)
            let keepsHistory = try PatronRegistration(decoding: opened[0]).history == .keep
            var loan = try Loan(decoding: opened[1])
            // The loan found by the item's blind index must be that item's, still out.
            guard loan.itemBarcode == item, loan.returnedAt == nil, keepsHistory == patron.historyKeep else { throw VaultError.integrity }
            let today = CalendarDay(tx.time)
            try tx.records.countReturn(item: loan.itemBarcode, branch: loan.branch, month: today.month)
            if let fee {
                loan.returnedAt = tx.time
                loan.fee = LoanFee(amount: fee)
                try tx.reseal(found.record, of: patron.pseudonym, as: loan.encoded(), state: .held, closedOn: today)
                return LoanReturn(itemBarcode: item, outcome: .heldForFee)
            }
            if keepsHistory {
                loan.returnedAt = tx.time
                try tx.reseal(found.record, of: patron.pseudonym, as: loan.encoded(), state: .closed, closedOn: today)
                return LoanReturn(itemBarcode: item, outcome: .keptAsHistory)
            }
            try tx.destroy(found.record, of: patron.pseudonym)
            return LoanReturn(itemBarcode: item, outcome: .destroyed)
        }
        // The loan's open version (history kept or held for a fee) or the whole loan
        // (destroyed) has a key to shred.
        guard result.outcome == .destroyed else {
            _ = try? await gate.storage.finishShreds(checking: gate.ring.recordSet)
            return result
        }
        // The return has committed: a shred that cannot finish now stays queued and is reported
        // as pending, never as a failed return that a retry would call "not checked out".
        let shredded = (try? await gate.storage.finishShreds(checking: gate.ring.recordSet)) == true
        // The commit that deleted the loan also counted the anonymous statistic and recorded the
        // return against the patron's pseudonym; purging the record store's journal keeps the two
        // from being paired from a copy of it. Best effort: a reader holding it delays it.
        _ = try? await gate.storage.records.purgeResidue()
        return shredded ? result : LoanReturn(itemBarcode: result.itemBarcode, outcome: .destroyedShredPending)
    }
}
