import PatronVaultCrypto

/// Canonical, length-prefixed binary encoding of one entry, prefixed with RFC 6962's leaf byte
/// so the bytes hash straight to the leaf hash.
///
/// Layout after the 0x00 leaf prefix: format version (1 byte), sequence (Int64 big-endian),
/// time in microseconds (Int64 big-endian), then the text fields in the order principal kind,
/// principal id, principal role, action, resource kind, patron?, purpose?, decision, rule ids
/// (comma-joined), policy digest, front end, each as a big-endian UInt32 byte count and UTF-8
/// bytes (optional fields carry a presence byte first), and finally the key version (Int64
/// big-endian). Length prefixes make the encoding injective: no two entries share one.
///
/// The buffer is reused, and can hold many entries back to back (the verifier fills a batch of
/// them for its hashing thread), so encoding does not allocate per entry.
struct AuditLeafEncoder {
    static let formatVersion: UInt8 = 1
    /// Format 1 followed by the detail text (a big-endian UInt32 byte count and UTF-8 bytes);
    /// used only by entries that carry a detail, so every other entry hashes as before.
    static let detailFormatVersion: UInt8 = 2
    static let ruleSeparator: UInt8 = 0x2C
    /// Leaf prefix, format version, sequence and time.
    static let headerByteCount = 18
    static let textFieldCount = 11
    static let patronField = 5
    static let purposeField = 6

    /// Zero-filled beyond `count`; grown by doubling so appends stay amortised O(1).
    private var storage: [UInt8]
    /// Bytes written.
    private(set) var count = 0
    /// Where the entry being encoded begins.
    private(set) var entryStart = 0

    init(capacity: Int = 512) {
        storage = [UInt8](repeating: 0, count: max(capacity, 64))
    }

    /// Forgets every entry but keeps the memory.
    mutating func removeAll() {
        count = 0
        entryStart = 0
    }

    /// Drops whatever was written after `offset`.
    mutating func truncate(to offset: Int) {
        count = min(count, offset)
        entryStart = min(entryStart, count)
    }

    /// Starts the only entry in the buffer.
    mutating func begin(sequence: Int64, time: Int64, version: UInt8 = formatVersion) {
        removeAll()
        beginEntry(sequence: sequence, time: time, version: version)
    }

    /// Starts another entry after those already in the buffer.
    mutating func beginEntry(sequence: Int64, time: Int64, version: UInt8 = formatVersion) {
        entryStart = count
        reserve(Self.headerByteCount)
        storage.withUnsafeMutableBytes { bytes in
            let base = bytes.baseAddress! + count
            base.storeBytes(of: 0x00, as: UInt8.self)
            base.storeBytes(of: version, toByteOffset: 1, as: UInt8.self)
            base.storeBytes(of: UInt64(bitPattern: sequence).bigEndian, toByteOffset: 2, as: UInt64.self)
            base.storeBytes(of: UInt64(bitPattern: time).bigEndian, toByteOffset: 10, as: UInt64.self)
        }
        count += Self.headerByteCount
    }

    mutating func append(_ value: Int64) {
        reserve(8)
        storage.withUnsafeMutableBytes { bytes in
            (bytes.baseAddress! + count).storeBytes(of: UInt64(bitPattern: value).bigEndian, as: UInt64.self)
        }
        count += 8
    }

    mutating func appendText(_ bytes: UnsafeRawBufferPointer) {
        appendLength(bytes.count)
        appendRaw(bytes)
    }

    mutating func appendOptionalText(_ bytes: UnsafeRawBufferPointer?) {
        if let bytes {
            appendByte(1)
            appendText(bytes)
        } else {
            appendByte(0)
        }
    }

    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { appendText(UnsafeRawBufferPointer($0)) }
    }

    mutating func appendOptionalText(_ text: String?) {
        if let text {
            appendByte(1)
            appendText(text)
        } else {
            appendByte(0)
        }
    }

    /// Bytes outside the encoding proper, such as the stored MAC a verifier batch carries along.
    mutating func appendRaw(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        reserve(bytes.count)
        storage.withUnsafeMutableBytes { ($0.baseAddress! + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        count += bytes.count
    }

    /// SHA-256(0x00 ‖ encoding) of the entry being encoded.
    func leafHash() -> [UInt8] {
        var leaf = [UInt8](repeating: 0, count: MerkleFrontier.hashByteCount)
        leaf.withUnsafeMutableBytes { out in
            withBytes { Self.hashLeaf(UnsafeRawBufferPointer(rebasing: $0[entryStart...]), into: out.baseAddress!) }
        }
        return leaf
    }

    /// Lends everything written so far.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// SHA-256 of an encoding that already starts with the leaf prefix.
    static func hashLeaf(_ encoding: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        Digest.sha256(encoding, into: out)
    }

    /// Encodes a draft that has been given its sequence number and stored time.
    mutating func encode(_ draft: AuditDraft, sequence: Int64, time: Int64) {
        begin(sequence: sequence, time: time, version: draft.detail == nil ? Self.formatVersion : Self.detailFormatVersion)
        appendText(draft.principalKind)
        appendText(draft.principalID)
        appendText(draft.principalRole)
        appendText(draft.action)
        appendText(draft.resourceKind)
        appendOptionalText(draft.patron)
        appendOptionalText(draft.purpose)
        appendText(draft.decision.rawValue)
        appendRuleIDs(draft.ruleIDs)
        appendText(draft.policyDigest)
        appendText(draft.frontEnd)
        append(Int64(draft.keyVersion))
        if let detail = draft.detail { appendText(detail) }
    }

    /// The detail text of a format 2 encoding written by `encode`, which follows the key
    /// version; nil for format 1.
    static func detail(in encoding: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard encoding[1] == detailFormatVersion else { return nil }
        var offset = headerByteCount
        for field in 0..<textFieldCount {
            if field == patronField || field == purposeField {
                let isPresent = encoding[offset] != 0
                offset += 1
                guard isPresent else { continue }
            }
            offset += 4 + Int(UInt32(bigEndian: encoding.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        offset += 8
        let length = Int(UInt32(bigEndian: encoding.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        return UnsafeRawBufferPointer(rebasing: encoding[(offset + 4)..<(offset + 4 + length)])
    }

    /// Walks the text fields of one encoding in order (principal kind through front end),
    /// handing each its bytes, or nil for an absent optional field. The encoding must have been
    /// written by `encode`, which this mirrors.
    static func forEachText(in encoding: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer?) throws -> Void) rethrows {
        var offset = headerByteCount
        for field in 0..<textFieldCount {
            if field == patronField || field == purposeField {
                let isPresent = encoding[offset] != 0
                offset += 1
                guard isPresent else {
                    try body(field, nil)
                    continue
                }
            }
            let length = Int(UInt32(bigEndian: encoding.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            try body(field, UnsafeRawBufferPointer(rebasing: encoding[offset..<(offset + length)]))
            offset += length
        }
    }

    /// The rule ids comma-joined, written without building the joined string.
    private mutating func appendRuleIDs(_ ruleIDs: [String]) {
        var length = max(ruleIDs.count - 1, 0)
        for rule in ruleIDs {
            length += rule.utf8.count
        }
        appendLength(length)
        for (index, rule) in ruleIDs.enumerated() {
            if index > 0 {
                appendByte(Self.ruleSeparator)
            }
            var rule = rule
            rule.withUTF8 { appendRaw(UnsafeRawBufferPointer($0)) }
        }
    }

    private mutating func appendLength(_ length: Int) {
        reserve(4)
        storage.withUnsafeMutableBytes { bytes in
            (bytes.baseAddress! + count).storeBytes(of: UInt32(truncatingIfNeeded: length).bigEndian, as: UInt32.self)
        }
        count += 4
    }

    private mutating func appendByte(_ byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    private mutating func reserve(_ extra: Int) {
        if count + extra > storage.count {
            storage.append(contentsOf: repeatElement(0, count: max(storage.count, count + extra - storage.count)))
        }
    }
}
