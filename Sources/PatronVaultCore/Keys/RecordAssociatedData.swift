/// The associated data every sealed record is bound to: format version, kind, record id, patron,
/// and (from format 2) the record's state and version. A ciphertext copied to another row, kind,
/// patron, state or version fails to open. The master-key version is deliberately not here (it
/// lives on the wrapped key), so rotating the master key never forces records to be re-encrypted.
///
/// Version 0 is a record sealed before versions existed (format 1); every change reseals a record
/// as the next version under a fresh key, in format 2.
enum RecordAssociatedData {
    static let formatVersion: UInt8 = 1
    static let versionedFormat: UInt8 = 2

    static func bytes(kind: RecordKind, id: RecordID, patron: PatronPseudonym, state: RecordState, version: Int64) -> [UInt8] {
        guard version > 0 else { return bytes(kind: kind, id: id, patron: patron) }
        var writer = header(format: versionedFormat, kind: kind, id: id, patron: patron)
        writer.append(state.rawValue)
        writer.append(version)
        return writer.bytes
    }

    /// A record key of a given version is bound to that version too, so the key of an older
    /// version cannot stand in for the current one.
    static func recordKey(id: RecordID, patron: PatronPseudonym, version: Int64) -> [UInt8] {
        guard version > 0 else { return recordKey(id: id, patron: patron) }
        var writer = CanonicalWriter(capacity: 72)
        writer.append("patronvault.record-key.v2")
        writer.append(bytes: id.bytes)
        writer.append(bytes: patron.bytes)
        writer.append(version)
        return writer.bytes
    }

    /// Format 1, for records sealed before versions existed.
    static func bytes(kind: RecordKind, id: RecordID, patron: PatronPseudonym) -> [UInt8] {
        header(format: formatVersion, kind: kind, id: id, patron: patron).bytes
    }

    private static func header(format: UInt8, kind: RecordKind, id: RecordID, patron: PatronPseudonym) -> CanonicalWriter {
        var writer = CanonicalWriter(capacity: 80)
        writer.append("patronvault.record")
        writer.append(byte: format)
        writer.append(kind.rawValue)
        writer.append(bytes: id.bytes)
        writer.append(bytes: patron.bytes)
        return writer
    }

    /// A record's data key is bound to the record and its patron, so a wrapped key moved to
    /// another row will not unwrap.
    static func recordKey(id: RecordID, patron: PatronPseudonym) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 64)
        writer.append("patronvault.record-key")
        writer.append(bytes: id.bytes)
        writer.append(bytes: patron.bytes)
        return writer.bytes
    }

    /// A patron key is bound to its patron and the master-key version that wrapped it.
    static func patronKey(patron: PatronPseudonym, kekVersion: Int64) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 48)
        writer.append("patronvault.patron-key")
        writer.append(bytes: patron.bytes)
        writer.append(kekVersion)
        return writer.bytes
    }

    static func systemKey(name: String, kekVersion: Int64) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 48)
        writer.append("patronvault.system-key")
        writer.append(name)
        writer.append(kekVersion)
        return writer.bytes
    }
}
