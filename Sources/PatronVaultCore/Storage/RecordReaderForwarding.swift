import Foundation
import PatronVaultAudit

/// A reader that hands every read to another one: what a transaction that changes how writes or
/// entries are handled, but not how rows are read, is built on (a lookup's snapshot transaction).
package protocol RecordReaderForwarding: RecordReader {
    var forwardedReader: any RecordReader { get }
}

extension RecordReaderForwarding {
    package func changeMark() throws -> Int64? { try forwardedReader.changeMark() }

    package func patron(cardIndex: [UInt8]) throws -> PatronRow? { try forwardedReader.patron(cardIndex: cardIndex) }
    package func patron(pseudonym: PatronPseudonym) throws -> PatronRow? { try forwardedReader.patron(pseudonym: pseudonym) }
    package func patrons(emailIndex: [UInt8]) throws -> [PatronRow] { try forwardedReader.patrons(emailIndex: emailIndex) }
    package func patrons(nameIndex: [UInt8]) throws -> [PatronRow] { try forwardedReader.patrons(nameIndex: nameIndex) }
    package func record(id: RecordID, patron: PatronPseudonym) throws -> SealedRecord? { try forwardedReader.record(id: id, patron: patron) }
    package func records(patron: PatronPseudonym, kind: RecordKind, state: RecordState) throws -> [SealedRecord] {
        try forwardedReader.records(patron: patron, kind: kind, state: state)
    }
    package func records(patron: PatronPseudonym) throws -> [SealedRecord] { try forwardedReader.records(patron: patron) }
    package func recordHeaders(patron: PatronPseudonym) throws -> [SealedRecord] { try forwardedReader.recordHeaders(patron: patron) }
    package func pendingShreds(patron: PatronPseudonym) throws -> [PendingShred] { try forwardedReader.pendingShreds(patron: patron) }
    package func openLoan(itemIndex: [UInt8]) throws -> OpenLoanRow? { try forwardedReader.openLoan(itemIndex: itemIndex) }
    package func pinAttempt(patron: PatronPseudonym) throws -> PINAttempt? { try forwardedReader.pinAttempt(patron: patron) }
    package func staff(tokenHash: [UInt8]) throws -> StaffRow? { try forwardedReader.staff(tokenHash: tokenHash) }
    package func staff(named name: String) throws -> StaffRow? { try forwardedReader.staff(named: name) }
    package func allStaff() throws -> [StaffRow] { try forwardedReader.allStaff() }
    package func statistics() throws -> [CirculationStatistic] { try forwardedReader.statistics() }
    package func dueLoanCount(_ state: RecordState, onOrBefore day: CalendarDay) throws -> (records: Int, patrons: Int) { try forwardedReader.dueLoanCount(state, onOrBefore: day) }
    package func patronsWithDueLoans(_ state: RecordState, onOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(patron: PatronPseudonym, due: Int)] {
        try forwardedReader.patronsWithDueLoans(state, onOrBefore: day, after: cursor, limit: limit)
    }
    package func expiredPatrons(expiredOnOrBefore day: CalendarDay, after cursor: PatronPseudonym?, limit: Int) throws -> [(row: PatronRow, expires: CalendarDay)] {
        try forwardedReader.expiredPatrons(expiredOnOrBefore: day, after: cursor, limit: limit)
    }
    package func recordCount(patron: PatronPseudonym) throws -> Int { try forwardedReader.recordCount(patron: patron) }
    package func loansKeepingAccount(patron: PatronPseudonym) throws -> Int { try forwardedReader.loansKeepingAccount(patron: patron) }
    package func lastActivity(of patron: PatronPseudonym) throws -> Date? { try forwardedReader.lastActivity(of: patron) }
    package func signInFailureCount(lastOnOrBefore day: CalendarDay, now: Date) throws -> Int { try forwardedReader.signInFailureCount(lastOnOrBefore: day, now: now) }
    package func monthlyStatisticCount(before month: String) throws -> Int { try forwardedReader.monthlyStatisticCount(before: month) }
    package func retentionProgress() throws -> [RetentionProgress] { try forwardedReader.retentionProgress() }
    package func auditEntries(_ query: AuditQuery) throws -> [AuditEntry] { try forwardedReader.auditEntries(query) }
    package func auditPatrons(touchedBy principalID: String, since: Date?, until: Date?) throws -> [String] {
        try forwardedReader.auditPatrons(touchedBy: principalID, since: since, until: until)
    }
    package func auditPatrons(keyVersion: Int, since: Date?, until: Date?) throws -> [String] {
        try forwardedReader.auditPatrons(keyVersion: keyVersion, since: since, until: until)
    }
    package func verifyAudit(with verifier: AuditVerifier, against checkpoint: AuditCheckpoint?) throws -> AuditVerification {
        try forwardedReader.verifyAudit(with: verifier, against: checkpoint)
    }
}
