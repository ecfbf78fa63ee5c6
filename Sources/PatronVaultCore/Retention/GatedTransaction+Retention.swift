import Foundation

/// The schedule's work on one patron, inside a batch's transaction. The plaintext day columns
/// only nominated the patron; what is removed is decided by the sealed records (checked against
/// the patron's record set) and by the audit trail.
extension GatedTransaction {
    /// The patron's returned loans whose sealed return day is on or before `cutoff`, checked
    /// against the record set and opened; nothing is written. The caller compares their number
    /// with what the plaintext columns nominated: a difference is an edit, counted as kept.
    func dueHistory(of patron: PatronPseudonym, returnedOnOrBefore cutoff: CalendarDay, wrapped: WrappedKeys?) throws -> [SealedRecord] {
        guard let row = try records.patron(pseudonym: patron), let wrapped else { throw VaultError.integrity }
        return try historyRecords(of: row, wrapped: wrapped).filter { CalendarDay($0.loan.returnedAt!) <= cutoff }.map(\.sealed)
    }

    /// Whether an expired account is due: its sealed card expiry must be the plaintext one that
    /// nominated it, and the audit trail must show no use of it after `cutoff`.
    func accountIsDue(_ row: PatronRow, expires: CalendarDay, cutoff: CalendarDay) throws -> Bool {
        guard try registration(of: row).cardExpiry == expires else { throw VaultError.integrity }
        guard let last = try records.lastActivity(of: row.pseudonym) else { return true }
        return CalendarDay(last) <= cutoff
    }
}
