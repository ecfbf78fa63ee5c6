/// Why an audit operation failed, as a sentence. Messages name fields, sizes and sequence
/// numbers, never values, so they can be logged without leaking patron data.
public struct AuditError: Error, Equatable, Sendable, CustomStringConvertible {
    private enum Code: Equatable, Sendable {
        case emptyField(String)
        case notAPseudonym(String)
        case invalidRuleID
        case unrepresentableTime
        case stateMissing
        case stateMalformed
        case stateOutOfStep(Int64)
        case checkpointConflict(Int64)
        case malformedCheckpoint(String)
        case externalCheckpointUnverified
        case outsideTransaction
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    static func emptyField(_ name: String) -> AuditError { AuditError(.emptyField(name)) }
    static func notAPseudonym(_ name: String) -> AuditError { AuditError(.notAPseudonym(name)) }
    static let invalidRuleID = AuditError(.invalidRuleID)
    static let unrepresentableTime = AuditError(.unrepresentableTime)
    public static let stateMissing = AuditError(.stateMissing)
    static let stateMalformed = AuditError(.stateMalformed)
    public static func stateOutOfStep(_ sequence: Int64) -> AuditError { AuditError(.stateOutOfStep(sequence)) }
    public static func checkpointConflict(_ size: Int64) -> AuditError { AuditError(.checkpointConflict(size)) }
    static func malformedCheckpoint(_ reason: String) -> AuditError { AuditError(.malformedCheckpoint(reason)) }
    static let externalCheckpointUnverified = AuditError(.externalCheckpointUnverified)
    static let outsideTransaction = AuditError(.outsideTransaction)

    /// The checkpoint handed to the verifier was not signed by the audit key, so it proves nothing.
    public var isUnverifiedExternalCheckpoint: Bool { code == .externalCheckpointUnverified }

    public var description: String {
        switch code {
        case .emptyField(let name):
            return "The \(name) of an audit entry must not be empty."
        case .notAPseudonym(let name):
            return "The \(name) of an audit entry must be a lowercase hexadecimal pseudonym; plaintext patron data never enters the audit trail."
        case .invalidRuleID:
            return "A rule id in an audit entry must be non-empty and must not contain a comma."
        case .unrepresentableTime:
            return "The time of an audit entry cannot be represented in microseconds since 1970."
        case .stateMissing:
            return "The audit trail has no state row; create its schema before appending."
        case .stateMalformed:
            return "The audit trail's stored state is malformed; the trail was altered outside the vault, so verify it."
        case .stateOutOfStep(let sequence):
            return "Audit entry \(sequence) already exists although the trail's state says it is next; the trail was altered outside the vault, so verify it."
        case .checkpointConflict(let size):
            return "A checkpoint already signed for size \(size) has a different root; the trail was altered after it was signed."
        case .malformedCheckpoint(let reason):
            return "The checkpoint text is malformed: \(reason)."
        case .externalCheckpointUnverified:
            return "The external checkpoint's signature does not verify with the audit key, so it cannot be used to check the trail."
        case .outsideTransaction:
            return "The audit trail can only be appended to inside a write transaction, so that the entry commits or fails with the operation it records."
        }
    }
}
