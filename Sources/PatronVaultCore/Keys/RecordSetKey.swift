import PatronVaultCrypto

/// Makes a patron's record set unforgeable. Each record version has an element, a keyed BLAKE2b
/// of (patron, id, version, kind, state); the patron's record set is the sum of the elements of
/// their settled record keys, kept beside the patron key in the key store and changed in the same
/// key-store transactions that add and destroy record keys. Without this key nobody can compute
/// an element, so no edit can take a record out of the set, move it to another patron, or change
/// the kind or state that decides which lists it appears in, and still match.
///
/// The key store is the anchor because it is the file whose deletions are real (secure delete,
/// journal truncated after every shred): an old copy of `vault.db` cannot bring back what the key
/// store no longer lists.
struct RecordSetKey: Sendable {
    private let hash: BlindIndexKey

    init(key: SymmetricKey) {
        hash = BlindIndexKey(key: key, outputByteCount: RecordSetDigest.byteCount)
    }

    func element(patron: PatronPseudonym, id: RecordID, version: Int64, kind: RecordKind, state: RecordState) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 96)
        writer.append("patronvault.record-set.element")
        writer.append(bytes: patron.bytes)
        writer.append(bytes: id.bytes)
        writer.append(version)
        writer.append(kind.rawValue)
        writer.append(state.rawValue)
        return hash.index(of: writer.bytes)
    }

    func element(of record: SealedRecord, patron: PatronPseudonym) -> [UInt8] {
        element(patron: patron, id: record.id, version: record.version, kind: record.kind, state: record.state)
    }

    /// Authenticates a queued shred: only the vault can queue one, so an edit cannot slip a live
    /// record into the queue to have its key destroyed and its element taken out of the set.
    func shredTag(patron: PatronPseudonym, id: RecordID, version: Int64) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 80)
        writer.append("patronvault.pending-shred")
        writer.append(bytes: patron.bytes)
        writer.append(bytes: id.bytes)
        writer.append(version)
        return hash.index(of: writer.bytes)
    }

    func isAuthentic(_ shred: PendingShred) -> Bool {
        ConstantTime.equals(shred.tag, shredTag(patron: shred.patron, id: shred.record, version: shred.version))
    }
}

/// The sum, modulo 2^256, of a set of record elements (each read as a little-endian number).
/// Adding and removing an element are O(1) and are different operations: an element added twice
/// (a key whose `settled` flag an edit cleared, settled again) leaves the sum wrong, where an XOR
/// would take the element out again and hide its record.
package struct RecordSetDigest: Sendable {
    package static let byteCount = 32
    package private(set) var bytes: [UInt8]

    package static var empty: RecordSetDigest { RecordSetDigest(bytes: [UInt8](repeating: 0, count: byteCount)) }

    package init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    package init(elements: some Sequence<[UInt8]>) {
        self = .empty
        for element in elements { add(element) }
    }

    package mutating func add(_ element: [UInt8]) {
        guard element.count == Self.byteCount, bytes.count == Self.byteCount else {
            bytes = []
            return
        }
        var carry: UInt16 = 0
        for index in 0..<Self.byteCount {
            let sum = UInt16(bytes[index]) + UInt16(element[index]) + carry
            bytes[index] = UInt8(truncatingIfNeeded: sum)
            carry = sum >> 8
        }
    }

    package mutating func subtract(_ element: [UInt8]) {
        guard element.count == Self.byteCount, bytes.count == Self.byteCount else {
            bytes = []
            return
        }
        var borrow: Int16 = 0
        for index in 0..<Self.byteCount {
            var difference = Int16(bytes[index]) - Int16(element[index]) - borrow
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 256 }
            bytes[index] = UInt8(difference)
        }
    }

    /// A digest of the wrong length (an edited column) matches nothing.
    package func matches(_ other: RecordSetDigest) -> Bool {
        bytes.count == Self.byteCount && other.bytes.count == Self.byteCount && ConstantTime.equals(bytes, other.bytes)
    }
}
