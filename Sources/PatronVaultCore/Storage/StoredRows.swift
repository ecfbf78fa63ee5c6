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

/// A wrapped patron key and the record set it starts with (its first records' elements).
struct PatronKeyRow: Sendable {
    let patron: PatronPseudonym
    let kekVersion: Int64
    let wrapped: [UInt8]
    var recordSet: RecordSetDigest = .empty
}

/// A wrapped record key and its record's element. A key is *settled* once its record is known to
/// be committed: only then is its element in the patron's record set. A new patron's keys are
/// settled from the start (no row of theirs exists before the commit, so a key without one is
/// left by a crash); a new version for an existing patron is settled right after its commit.
struct RecordKeyRow: Sendable {
    let patron: PatronPseudonym
    let record: RecordID
    let version: Int64
    let wrapped: [UInt8]
    let element: [UInt8]
    var settled = false

    var owner: RecordOwner { RecordOwner(patron: patron, record: record, version: version) }
}

/// A staff row as stored: the account and the hash of its token.
struct StaffRow: Sendable {
    let account: StaffAccount
    let tokenHash: [UInt8]
}

/// Wrapped keys (and new staff accounts' seals) to be stored before the rows that need them.
struct KeyBatch: Sendable {
    var patronKeys: [PatronKeyRow] = []
    var recordKeys: [RecordKeyRow] = []
    var staffSeals: [(id: String, tag: [UInt8])] = []

    var isEmpty: Bool { patronKeys.isEmpty && recordKeys.isEmpty && staffSeals.isEmpty }

    /// A new patron's key with its first records' keys, settled, and the record set they make.
    static func newPatron(_ patronKey: PatronKeyRow, records: [RecordKeyRow]) -> KeyBatch {
        var batch = KeyBatch()
        batch.add(newPatron: patronKey, records: records)
        return batch
    }

    mutating func add(newPatron patronKey: PatronKeyRow, records: [RecordKeyRow]) {
        var patronKey = patronKey
        patronKey.recordSet = RecordSetDigest(elements: records.map(\.element))
        patronKeys.append(patronKey)
        recordKeys += records.map { var key = $0; key.settled = true; return key }
    }
}

/// A patron's wrapped key, record set, and the wrapped keys of the records asked for, read
/// together.
struct WrappedKeys: Sendable {
    let patronKey: (kekVersion: Int64, wrapped: [UInt8])?
    let recordSet: RecordSetDigest?
    /// How many record keys the patron has: with the set, it lets a read take the fast path only
    /// when every key has its row.
    let recordKeyCount: Int
    let recordKeys: [RecordID: [UInt8]]
}

/// One patron's record keys and record set, read in one snapshot of the key store.
struct StoredRecordKeys: Sendable {
    struct Key: Sendable {
        let element: [UInt8]?
        let settled: Bool
    }

    let recordSet: RecordSetDigest?
    let keys: [RecordOwner: Key]
}

/// A record removed from the record store whose key is still to be destroyed. The tag
/// authenticates the entry (`RecordSetKey.shredTag`).
struct PendingShred: Sendable, Hashable {
    let record: RecordID
    let patron: PatronPseudonym
    let version: Int64
    let tag: [UInt8]
}

/// The failed-PIN count and lockout of one card.
struct PINAttempt: Sendable {
    let failures: Int
    let lockedUntil: Date?
}

/// Whether a record is live (a registration, an open loan) or closed history.
enum RecordState: Int64, Sendable {
    case open = 0
    /// A returned loan with a fee on it: kept, whatever the patron's history choice, while the
    /// fee is owed, and (for a patron who discards history) for the retention schedule's period
    /// after it is settled.
    case held = 2
    case closed = 1

    var name: String {
        switch self {
        case .open: "open"
        case .held: "held"
        case .closed: "closed"
        }
    }
}

/// The owners of keys or rows: patrons, and records by patron and id.
struct KeyOwners: Sendable {
    var patrons: Set<PatronPseudonym> = []
    var records: Set<RecordOwner> = []
    /// Of the record keys, those settled: their records were committed.
    var settled: Set<RecordOwner> = []
}

/// A record version by its patron and id: what a record key is stored under.
struct RecordOwner: Sendable, Hashable {
    let patron: PatronPseudonym
    let record: RecordID
    let version: Int64
}

/// How many patron and system keys each master-key version wraps, and how many record keys
/// there are (wrapped by patron keys, so untouched by a rotation).
struct KeyVersionCounts: Sendable {
    var patronKeys: [Int64: Int] = [:]
    var systemKeys: [Int64: Int] = [:]
    var recordKeys = 0
}

/// A legal order as stored: its id and patron in the clear (what finds it), the rest sealed.
struct StoredLegalOrder: Sendable {
    let id: String
    let patron: PatronPseudonym
    let sealed: [UInt8]
}
