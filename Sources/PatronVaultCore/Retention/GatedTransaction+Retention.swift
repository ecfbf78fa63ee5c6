import Foundation

/// The schedule's work on one patron, inside a batch's transaction. The plaintext day columns
/// only nominated the patron; what is removed is decided by the sealed records (checked against
/// the patron's record set) and by the audit trail.
extension GatedTransaction {
    /// Destroys the patron's returned loans whose sealed return day is on or before `cutoff`.
    /// Reports whether the plaintext columns nominated a different number than the sealed dates
    /// found due: an edit, which the run counts as kept.
    func retireHistory(of patron: PatronPseudonym, returnedOnOrBefore cutoff: CalendarDay, nominated: Int) throws -> (shreds: [PendingShred], disagrees: Bool) {
        guard let row = try records.patron(pseudonym: patron) else { throw VaultError.integrity }
        let due = try historyRecords(of: row).filter { CalendarDay($0.loan.returnedAt!) <= cutoff }
        let shreds = try due.map { try destroy($0.sealed, of: patron) }
        return (shreds, due.count != nominated)
    }

    /// Whether an expired account is due: its sealed card expiry must be the plaintext one that
    /// nominated it, and the audit trail must show no use of it after `cutoff`.
    func accountIsDue(_ row: PatronRow, expires: CalendarDay, cutoff: CalendarDay) throws -> Bool {
        guard try registration(of: row).cardExpiry == expires else { throw VaultError.integrity }
        guard let last = try records.lastActivity(of: row.pseudonym) else { return true }
        return CalendarDay(last) <= cutoff
    }
}
