import Foundation
import PatronVaultPolicy

extension CirculationDesk {
    /// Records that the fee on a returned loan is paid or waived. The loan then goes the way the
    /// patron chose: into their history if they keep it (counted from its return day, like any
    /// returned loan), otherwise held with its settlement day until the retention schedule's
    /// `held-loans` rule destroys it. A separate action from a lookup, which the shipped rules
    /// allow only while handling fines.
    public func settleFee(card: String, item: String, purpose: String?, by principal: Principal) async throws(VaultError) -> FeeSettlement {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let item = try FieldRules.barcode(item, field: "item barcode")
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let ring = gate.ring
        let heldFor = gate.policies.retention.rules.first { $0.records == .heldLoans }
        let settlement: FeeSettlement = try await gate.write(
            principal, [AccessRequest(.loanSettleFee, .loan, state: .held, purpose: purpose)], subject: .card(card)
        ) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            let (registration, held) = try tx.heldLoans(of: patron)
            // The plaintext preference must agree with the sealed one, as at a return.
            guard (registration.history == .keep) == patron.historyKeep else { throw VaultError.integrity }
            guard let found = held.first(where: { $0.loan.itemBarcode == item && $0.loan.fee?.settledAt == nil }), let returned = found.loan.returnedAt else {
                throw VaultError.notFound("that patron owes no fee on that item")
            }
            // A reseal replaces the record opened last: this one, opened again on its own.
            _ = try tx.openRecords([found.sealed], of: patron.pseudonym)
            var loan = found.loan
            loan.fee?.settledAt = tx.time
            let today = CalendarDay(tx.time)
            let amount = found.loan.fee?.amount ?? 0
            if registration.history == .keep {
                try tx.reseal(found.sealed, of: patron.pseudonym, as: loan.encoded(), state: .closed, closedOn: CalendarDay(returned))
                return FeeSettlement(itemBarcode: item, amount: amount, outcome: .keptAsHistory, destroyedAfter: nil)
            }
            try tx.reseal(found.sealed, of: patron.pseudonym, as: loan.encoded(), state: .held, closedOn: CalendarDay(returned), settledOn: today)
            return FeeSettlement(
                itemBarcode: item, amount: amount, outcome: .heldUntilRetention,
                destroyedAfter: heldFor.map { today.firstDayDue(after: $0.period) })
        }
        // The unsettled version's key goes now, or on the next pass.
        _ = try? await gate.storage.finishShreds(checking: gate.ring.recordSet)
        return settlement
    }
}
