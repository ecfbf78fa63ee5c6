/// The associated data every sealed record is bound to: format version, kind, record id and
/// patron. A ciphertext copied to another row, kind or patron fails to open. The key version is
/// deliberately not here (it lives on the wrapped key), so rotating the master key never forces
/// records to be re-encrypted.
enum RecordAssociatedData {
    static let formatVersion: UInt8 = 1

    static func bytes(kind: RecordKind, id: RecordID, patron: PatronPseudonym) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 64)
        writer.append("patronvault.record")
        writer.append(byte: formatVersion)
        writer.append(kind.rawValue)
        writer.append(bytes: id.bytes)
        writer.append(bytes: patron.bytes)
        return writer.bytes
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
