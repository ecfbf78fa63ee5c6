import Foundation
import PatronVaultCrypto

/// The plaintext columns of a patron row: what lookups and retention need, nothing more.
package struct PatronRow: Sendable {
    package let pseudonym: PatronPseudonym
    package let registrationID: RecordID
    package let historyKeep: Bool
    /// The card a lookup asked for, when the row was found by one: the sealed registration must
    /// hold that card, or the blind index was moved to another patron's row.
    package var askedCard: String?

    package init(pseudonym: PatronPseudonym, registrationID: RecordID, historyKeep: Bool, askedCard: String? = nil) {
        self.pseudonym = pseudonym
        self.registrationID = registrationID
        self.historyKeep = historyKeep
        self.askedCard = askedCard
    }
}

/// A new patron row with its blind indexes; every other field is sealed in the registration.
package struct NewPatronRow: Sendable {
    package let pseudonym: PatronPseudonym
    package let cardIndex: [UInt8]
    package let emailIndex: [UInt8]
    package let nameIndex: [UInt8]
    package let historyKeep: Bool
    package let registrationID: RecordID
    package let registeredDay: CalendarDay
    package let expiresDay: CalendarDay?
}

/// A sealed record as stored: its plaintext columns and the box.
package struct SealedRecord: Sendable {
    package let id: RecordID
    package let kind: RecordKind
    package let state: RecordState
    /// Which sealing of the record this is; each change seals the next under a fresh key.
    package let version: Int64
    package let sealed: [UInt8]

    package init(id: RecordID, kind: RecordKind, state: RecordState, version: Int64, sealed: [UInt8]) {
        self.id = id
        self.kind = kind
        self.state = state
        self.version = version
        self.sealed = sealed
    }
}

/// An open loan found by its item's blind index, with the patron it belongs to.
package struct OpenLoanRow: Sendable {
    package let record: SealedRecord
    package let patron: PatronPseudonym

    package init(record: SealedRecord, patron: PatronPseudonym) {
        self.record = record
        self.patron = patron
    }
}

/// A new sealed record and the plaintext columns retention and lookups use.
package struct NewRecord: Sendable {
    package let patron: PatronPseudonym
    package let id: RecordID
    package let kind: RecordKind
    package let state: RecordState
    package let itemIndex: [UInt8]?
    package let openedDay: CalendarDay
    package let dueDay: CalendarDay?
    package let closedDay: CalendarDay?
    package let version: Int64
    package let sealed: [UInt8]
}

/// A wrapped patron key and the record set it starts with (its first records' elements).
package struct PatronKeyRow: Sendable {
    package let patron: PatronPseudonym
    package let kekVersion: Int64
    package let wrapped: [UInt8]
    package var recordSet: RecordSetDigest = .empty

    package init(patron: PatronPseudonym, kekVersion: Int64, wrapped: [UInt8], recordSet: RecordSetDigest = .empty) {
        self.patron = patron
        self.kekVersion = kekVersion
        self.wrapped = wrapped
        self.recordSet = recordSet
    }
}

/// A wrapped record key and its record's element. A key is *settled* once its record is known to
/// be committed: only then is its element in the patron's record set. A new patron's keys are
/// settled from the start (no row of theirs exists before the commit, so a key without one is
/// left by a crash); a new version for an existing patron is settled right after its commit.
package struct RecordKeyRow: Sendable {
    package let patron: PatronPseudonym
    package let record: RecordID
    package let version: Int64
    package let wrapped: [UInt8]
    package let element: [UInt8]
    package var settled = false

    package init(patron: PatronPseudonym, record: RecordID, version: Int64, wrapped: [UInt8], element: [UInt8], settled: Bool = false) {
        self.patron = patron
        self.record = record
        self.version = version
        self.wrapped = wrapped
        self.element = element
        self.settled = settled
    }

    package var owner: RecordOwner { RecordOwner(patron: patron, record: record, version: version) }
}

/// A staff row as stored: the account and the hash of its token.
package struct StaffRow: Sendable {
    package let account: StaffAccount
    package let tokenHash: [UInt8]

    package init(account: StaffAccount, tokenHash: [UInt8]) {
        self.account = account
        self.tokenHash = tokenHash
    }
}

/// Wrapped keys (and new staff accounts' seals) to be stored before the rows that need them.
package struct KeyBatch: Sendable {
    package var patronKeys: [PatronKeyRow] = []
    package var recordKeys: [RecordKeyRow] = []
    package var staffSeals: [(id: String, tag: [UInt8])] = []

    package init(patronKeys: [PatronKeyRow] = [], recordKeys: [RecordKeyRow] = [], staffSeals: [(id: String, tag: [UInt8])] = []) {
        self.patronKeys = patronKeys
        self.recordKeys = recordKeys
        self.staffSeals = staffSeals
    }

    package var isEmpty: Bool { patronKeys.isEmpty && recordKeys.isEmpty && staffSeals.isEmpty }

    /// A new patron's key with its first records' keys, settled, and the record set they make.
    package static func newPatron(_ patronKey: PatronKeyRow, records: [RecordKeyRow]) -> KeyBatch {
        var batch = KeyBatch()
        batch.add(newPatron: patronKey, records: records)
        return batch
    }

    package mutating func add(newPatron patronKey: PatronKeyRow, records: [RecordKeyRow]) {
        var patronKey = patronKey
        patronKey.recordSet = RecordSetDigest(elements: records.map(\.element))
        patronKeys.append(patronKey)
        recordKeys += records.map { var key = $0; key.settled = true; return key }
    }
}

/// A patron's wrapped key, record set, and the wrapped keys of the records asked for, read
/// together.
package struct WrappedKeys: Sendable {
    package let patronKey: (kekVersion: Int64, wrapped: [UInt8])?
    package let recordSet: RecordSetDigest?
    /// How many record keys the patron has: with the set, it lets a read take the fast path only
    /// when every key has its row.
    package let recordKeyCount: Int
    package let recordKeys: [RecordID: [UInt8]]

    package init(patronKey: (kekVersion: Int64, wrapped: [UInt8])?, recordSet: RecordSetDigest?, recordKeyCount: Int, recordKeys: [RecordID: [UInt8]]) {
        self.patronKey = patronKey
        self.recordSet = recordSet
        self.recordKeyCount = recordKeyCount
        self.recordKeys = recordKeys
    }
}

/// One patron's record keys and record set, read in one snapshot of the key store.
package struct StoredRecordKeys: Sendable {
    package struct Key: Sendable {
        package let element: [UInt8]?
        package let settled: Bool

        package init(element: [UInt8]?, settled: Bool) {
            self.element = element
            self.settled = settled
        }
    }

    package let recordSet: RecordSetDigest?
    package let keys: [RecordOwner: Key]

    package init(recordSet: RecordSetDigest?, keys: [RecordOwner: Key]) {
        self.recordSet = recordSet
        self.keys = keys
    }
}

/// A record removed from the record store whose key is still to be destroyed. The tag
/// authenticates the entry (`RecordSetKey.shredTag`).
package struct PendingShred: Sendable, Hashable {
    package let record: RecordID
    package let patron: PatronPseudonym
    package let version: Int64
    package let tag: [UInt8]

    package init(record: RecordID, patron: PatronPseudonym, version: Int64, tag: [UInt8]) {
        self.record = record
        self.patron = patron
        self.version = version
        self.tag = tag
    }
}

/// The failed-PIN count and lockout of one card.
package struct PINAttempt: Sendable {
    package let failures: Int
    package let lockedUntil: Date?

    package init(failures: Int, lockedUntil: Date?) {
        self.failures = failures
        self.lockedUntil = lockedUntil
    }
}

/// Whether a record is live (a registration, an open loan) or closed history.
package enum RecordState: Int64, Sendable {
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
package struct KeyOwners: Sendable {
    package var patrons: Set<PatronPseudonym> = []
    package var records: Set<RecordOwner> = []
    /// Of the record keys, those settled: their records were committed.
    package var settled: Set<RecordOwner> = []

    package init() {}
}

/// A record version by its patron and id: what a record key is stored under.
package struct RecordOwner: Sendable, Hashable {
    package let patron: PatronPseudonym
    package let record: RecordID
    package let version: Int64

    package init(patron: PatronPseudonym, record: RecordID, version: Int64) {
        self.patron = patron
        self.record = record
        self.version = version
    }
}

/// How many patron and system keys each master-key version wraps, and how many record keys
/// there are (wrapped by patron keys, so untouched by a rotation).
package struct KeyVersionCounts: Sendable {
    package var patronKeys: [Int64: Int] = [:]
    package var systemKeys: [Int64: Int] = [:]
    package var recordKeys = 0

    package init() {}
}

/// A legal order as stored: its id and patron in the clear (what finds it), the rest sealed.
package struct StoredLegalOrder: Sendable {
    package let id: String
    package let patron: PatronPseudonym
    package let sealed: [UInt8]

    package init(id: String, patron: PatronPseudonym, sealed: [UInt8]) {
        self.id = id
        self.patron = patron
        self.sealed = sealed
    }
}
