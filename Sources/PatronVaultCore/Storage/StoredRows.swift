import Foundation
import PatronVaultCrypto

/// The plaintext columns of a patron row: what lookups and retention need, nothing more.
struct PatronRow: Sendable {
    let pseudonym: PatronPseudonym
    let registrationID: RecordID
    let historyKeep: Bool
    /// The card a lookup asked for, when the row was found by one: the sealed registration must
    /// hold that card, or the blind index was moved to another patron's row.
    var askedCard: String?
}

/// A new patron row with its blind indexes; every other field is sealed in the registration.
struct NewPatronRow: Sendable {
    let pseudonym: PatronPseudonym
    let cardIndex: [UInt8]
    let emailIndex: [UInt8]
    let nameIndex: [UInt8]
    let historyKeep: Bool
    let registrationID: RecordID
    let registeredDay: CalendarDay
    let expiresDay: CalendarDay?
}

/// A sealed record as stored: its plaintext columns and the box.
struct SealedRecord: Sendable {
    let id: RecordID
    let kind: RecordKind
    let state: RecordState
    /// Which sealing of the record this is; each change seals the next under a fresh key.
    let version: Int64
    let sealed: [UInt8]
}

/// An open loan found by its item's blind index, with the patron it belongs to.
struct OpenLoanRow: Sendable {
    let record: SealedRecord
    let patron: PatronPseudonym
}

/// A new sealed record and the plaintext columns retention and lookups use.
struct NewRecord: Sendable {
    let patron: PatronPseudonym
    let id: RecordID
    let kind: RecordKind
    let state: RecordState
    let itemIndex: [UInt8]?
    let openedDay: CalendarDay
    let dueDay: CalendarDay?
    let closedDay: CalendarDay?
    let version: Int64
    let sealed: [UInt8]
}

/// Wrapped keys to be stored before the records that need them.
struct KeyBatch: Sendable {
    var patronKeys: [(patron: PatronPseudonym, kekVersion: Int64, wrapped: [UInt8])] = []
    var recordKeys: [(patron: PatronPseudonym, record: RecordID, version: Int64, wrapped: [UInt8])] = []

    var isEmpty: Bool { patronKeys.isEmpty && recordKeys.isEmpty }
}

/// A patron's wrapped key and the wrapped keys of the records asked for, read together.
struct WrappedKeys: Sendable {
    let patronKey: (kekVersion: Int64, wrapped: [UInt8])?
    let recordKeys: [RecordID: [UInt8]]
}

/// A record removed from the record store whose key is still to be destroyed.
struct PendingShred: Sendable, Hashable {
    let record: RecordID
    let patron: PatronPseudonym
    let version: Int64
}

/// The failed-PIN count and lockout of one card.
struct PINAttempt: Sendable {
    let failures: Int
    let lockedUntil: Date?
}

/// Whether a record is live (a registration, an open loan) or closed history.
enum RecordState: Int64, Sendable {
    case open = 0
    case closed = 1

    var name: String { self == .open ? "open" : "closed" }
}

/// The owners of keys or rows: patrons, and records by patron and id.
struct KeyOwners: Sendable {
    var patrons: Set<PatronPseudonym> = []
    var records: Set<RecordOwner> = []
}

/// A record version by its patron and id: what a record key is stored under.
struct RecordOwner: Sendable, Hashable {
    let patron: PatronPseudonym
    let record: RecordID
    let version: Int64
}
