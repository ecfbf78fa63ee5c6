/// A length-prefixed byte encoding: no two field sequences encode to the same bytes, so it is
/// safe both as associated data and as the plaintext layout of a sealed record.
struct CanonicalWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    mutating func append(_ value: Int64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(bytes field: [UInt8]) {
        append(length: field.count)
        bytes.append(contentsOf: field)
    }

    mutating func append(_ field: String) {
        var copy = field
        copy.withUTF8 { utf8 in
            append(length: utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// Absent and empty are different values: a presence byte precedes optionals.
    mutating func append(_ field: String?) {
        if let field {
            bytes.append(1)
            append(field)
        } else {
            bytes.append(0)
        }
    }

    mutating func append(_ field: Int64?) {
        if let field {
            bytes.append(1)
            append(field)
        } else {
            bytes.append(0)
        }
    }

    private mutating func append(length: Int) {
        withUnsafeBytes(of: UInt32(length).bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `CanonicalWriter` wrote; any deviation is treated as corruption.
struct CanonicalReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func readByte() throws(VaultError) -> UInt8 {
        guard offset < bytes.count else { throw .integrity }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readInt64() throws(VaultError) -> Int64 {
        guard bytes.count - offset >= 8 else { throw .integrity }
        var value: UInt64 = 0
        for index in offset..<(offset + 8) { value = value << 8 | UInt64(bytes[index]) }
        offset += 8
        return Int64(bitPattern: value)
    }

    mutating func readString() throws(VaultError) -> String {
        let field = try readBytes()
        guard let string = String(validating: field, as: UTF8.self) else { throw .integrity }
        return string
    }

    mutating func readBytes() throws(VaultError) -> [UInt8] {
        guard bytes.count - offset >= 4 else { throw .integrity }
        var length = 0
        for index in offset..<(offset + 4) { length = length << 8 | Int(bytes[index]) }
        offset += 4
        guard bytes.count - offset >= length else { throw .integrity }
        defer { offset += length }
        return Array(bytes[offset..<(offset + length)])
    }

    mutating func readOptionalString() throws(VaultError) -> String? {
        switch try readByte() {
        case 0: return nil
        case 1: return try readString()
        default: throw .integrity
        }
    }

    mutating func readOptionalInt64() throws(VaultError) -> Int64? {
        switch try readByte() {
        case 0: return nil
        case 1: return try readInt64()
        default: throw .integrity
        }
    }
}
