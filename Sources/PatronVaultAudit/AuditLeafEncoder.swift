import PatronVaultCrypto

/// Canonical, length-prefixed binary encoding of one entry, prefixed with RFC 6962's leaf byte
/// so the buffer hashes straight to the leaf hash.
///
/// Layout after the 0x00 leaf prefix: format version (1 byte), sequence (Int64 big-endian),
/// time in microseconds (Int64 big-endian), then the text fields in the order principal kind,
/// principal id, principal role, action, resource kind, patron?, purpose?, decision, rule ids
/// (comma-joined), policy digest, front end, each as a big-endian UInt32 byte count and UTF-8
/// bytes (optional fields carry a presence byte first), and finally the key version (Int64
/// big-endian). Length prefixes make the encoding injective: no two entries share one.
///
/// The buffer is reused across entries so verification does not allocate per row for encoding.
struct AuditLeafEncoder {
    static let formatVersion: UInt8 = 1
    static let ruleSeparator: UInt8 = 0x2C

    private(set) var buffer: [UInt8] = []

    init() {
        buffer.reserveCapacity(512)
    }

    mutating func begin(sequence: Int64, time: Int64) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(0x00)
        buffer.append(Self.formatVersion)
        append(sequence)
        append(time)
    }

    mutating func append(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) {
            buffer.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
    }

    mutating func appendText(_ bytes: UnsafeRawBufferPointer) {
        let count = UInt32(truncatingIfNeeded: bytes.count)
        buffer.append(UInt8(truncatingIfNeeded: count >> 24))
        buffer.append(UInt8(truncatingIfNeeded: count >> 16))
        buffer.append(UInt8(truncatingIfNeeded: count >> 8))
        buffer.append(UInt8(truncatingIfNeeded: count))
        buffer.append(contentsOf: bytes)
    }

    mutating func appendOptionalText(_ bytes: UnsafeRawBufferPointer?) {
        if let bytes {
            buffer.append(1)
            appendText(bytes)
        } else {
            buffer.append(0)
        }
    }

    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { appendText(UnsafeRawBufferPointer($0)) }
    }

    mutating func appendOptionalText(_ text: String?) {
        if let text {
            buffer.append(1)
            appendText(text)
        } else {
            buffer.append(0)
        }
    }

    /// SHA-256(0x00 ‖ encoding).
    func leafHash() -> [UInt8] {
        Digest.sha256(buffer)
    }

    /// Encodes a draft that has been given its sequence number and stored time.
    mutating func encode(_ draft: AuditDraft, sequence: Int64, time: Int64, ruleIDs: String) {
        begin(sequence: sequence, time: time)
        appendText(draft.principalKind)
        appendText(draft.principalID)
        appendText(draft.principalRole)
        appendText(draft.action)
        appendText(draft.resourceKind)
        appendOptionalText(draft.patron)
        appendOptionalText(draft.purpose)
        appendText(draft.decision.rawValue)
        appendText(ruleIDs)
        appendText(draft.policyDigest)
        appendText(draft.frontEnd)
        append(Int64(draft.keyVersion))
    }
}
