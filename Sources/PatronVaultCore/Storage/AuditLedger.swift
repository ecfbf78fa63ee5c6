import Foundation
import PatronVaultAudit

/// Reading the audit trail: entries by filter, the patrons an account touched, and the whole
/// trail recomputed as a stream (a verifier never holds it in memory).
package protocol AuditReader {
    func auditEntries(_ query: AuditQuery) throws -> [AuditEntry]
    func auditPatrons(touchedBy principalID: String, since: Date?, until: Date?) throws -> [String]
    func auditPatrons(keyVersion: Int, since: Date?, until: Date?) throws -> [String]
    func verifyAudit(with verifier: AuditVerifier, against checkpoint: AuditCheckpoint?) throws -> AuditVerification
}

/// Extending the audit trail inside a write transaction. An append locks and reads the trail's
/// state (tree frontier, MAC chain head, last time) and extends it, so appends from several
/// writers form one chain; it commits or rolls back with the operation it records.
package protocol AuditLedger: AuditReader {
    func appendAudit(_ draft: AuditDraft, to trail: AuditTrail) throws
    /// Several entries in order, the chain state read and written once.
    func appendAudit(_ drafts: [AuditDraft], to trail: AuditTrail) throws
    func signAuditCheckpoint(_ trail: AuditTrail, at time: Date) throws -> AuditCheckpoint
}
