import Foundation

/// The schedule's work on one patron, inside a batch's transaction. The plaintext day columns
/// only nominated the patron; what is removed is decided by the sealed records (checked against
/// the patron's record set) and by the audit trail.
extension GatedTransaction {
    /// The patron's returned loans in `state` whose sealed day (for history the return, for a
    /// held loan the fee's settlement) is on or before `cutoff`, checked against the record set
    /// and opened; nothing is written. The caller compares their number with what the plaintext
    /// columns nominated: a difference is an edit, counted as kept.
    func dueLoans(_ state: RecordState, of patron: PatronPseudonym, onOrBefore cutoff: CalendarDay, wrapped: WrappedKeys?) throws -> [SealedRecord] {
        guard let row = try records.patron(pseudonym: patron), let wrapped else { throw VaultError.integrity }
        return try historyRecords(of: row, state: state, wrapped: wrapped).filter { _, loan in
            let day = state == .held ? loan.fee?.settledAt : loan.returnedAt
            return day.map { CalendarDay($0) <= cutoff } ?? false
        }.map(\.sealed)
    }

    /// Whether an expired account is due: its sealed card expiry must be the plaintext one that
    /// nominated it, and the audit trail must show no use of it after `cutoff`.
    func accountIsDue(_ row: PatronRow, expires: CalendarDay, cutoff: CalendarDay) throws -> Bool {
        guard try registration(of: row).cardExpiry == expires else { throw VaultError.integrity }
        guard let last = try records.lastActivity(of: row.pseudonym) else { return true }
        return CalendarDay(last) <= cutoff
    }
}
