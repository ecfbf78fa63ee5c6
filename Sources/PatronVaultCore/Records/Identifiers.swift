import PatronVaultCrypto

/// A random 128-bit patron pseudonym: the only patron identifier in plaintext columns and the
/// audit trail. Random, not derived, so nothing about the patron can be recomputed from it.
public struct PatronPseudonym: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    package init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    package static func random() -> PatronPseudonym {
        PatronPseudonym(bytes: SecureRandom.bytes(16))
    }

    /// Hex, for the audit trail and policy requests.
    public var description: String { Hex.encode(bytes) }

    /// The bytes in one call rather than one `combine` per byte: ids key the dictionaries an
    /// export or a purge builds over thousands of records.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// A random 128-bit record id: ids reveal neither order nor count.
public struct RecordID: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    package init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    package static func random() -> RecordID {
        RecordID(bytes: SecureRandom.bytes(16))
    }

    public var description: String { Hex.encode(bytes) }

    /// As `PatronPseudonym.hash(into:)`.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// What a sealed record holds; stored in plaintext because retention must act on it.
public enum RecordKind: Int64, Sendable {
    case registration = 1
    case loan = 2
}

/// Lower-case hexadecimal, as digests, tokens and receipts are written.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let hi = value(utf8[index]), let lo = value(utf8[index + 1]) else { return nil }
            out.append(hi << 4 | lo)
            index += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
