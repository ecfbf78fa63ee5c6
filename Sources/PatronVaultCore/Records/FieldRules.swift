import Foundation

/// Validation and normalisation of the fields people type. Errors name the field, never echo
/// its value, so a mistyped email never lands in a terminal log.
enum FieldRules {
    static func barcode(_ raw: String, field: String) throws(VaultError) -> String {
        var bytes = Array(trimmed(raw).utf8)
        guard (1...64).contains(bytes.count) else { throw .invalid("\(field) must be 1 to 64 letters, digits or hyphens") }
        for i in bytes.indices {
            switch bytes[i] {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes[i] -= 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): break
            default: throw .invalid("\(field) must be 1 to 64 letters, digits or hyphens")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func email(_ raw: String) throws(VaultError) -> String {
        let value = trimmed(raw).lowercased()
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard value.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !value.contains(where: { $0.isWhitespace || $0.isNewline })
        else {
            throw .invalid("email is not a valid address")
        }
        return value
    }

    static func text(_ raw: String, field: String, maxLength: Int = 512) throws(VaultError) -> String {
        let value = String(trimmed(raw))
        guard !value.isEmpty else { throw .invalid("\(field) must not be empty") }
        guard value.utf8.count <= maxLength else { throw .invalid("\(field) is longer than \(maxLength) bytes") }
        // General category Cc is exactly C0, DEL and C1.
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw .invalid("\(field) contains control characters")
        }
        return value
    }

    static func optionalText(_ raw: String?, field: String) throws(VaultError) -> String? {
        guard let raw else { return nil }
        return try text(raw, field: field)
    }

    static func pin(_ raw: [UInt8]) throws(VaultError) -> [UInt8] {
        guard (4...64).contains(raw.count) else { throw .invalid("PIN must be 4 to 64 characters") }
        return raw
    }

    /// The form of a name used for lookups: case, accents and spacing do not matter.
    static func normalizedName(_ name: String) -> String {
        name.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .split(whereSeparator: { $0.isWhitespace })
            .joined(separator: " ")
    }

    /// Leading and trailing white space removed, without a round trip through Foundation.
    static func trimmed(_ raw: String) -> Substring {
        func isSpace(_ c: Character) -> Bool { c.isWhitespace }
        guard let first = raw.firstIndex(where: { !isSpace($0) }), let last = raw.lastIndex(where: { !isSpace($0) }) else { return "" }
        return raw[first...last]
    }

    /// Staff account names appear in the audit trail, so they are short plain identifiers.
    static func accountName(_ raw: String) throws(VaultError) -> String {
        let value = trimmed(raw).lowercased()
        guard (1...64).contains(value.utf8.count),
              value.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) })
        else {
            throw .invalid("staff name must be 1 to 64 letters, digits, dots, hyphens or underscores")
        }
        return value
    }

    static func passphrase(_ raw: [UInt8]) throws(VaultError) {
        guard raw.count >= 12 else { throw .invalid("the passphrase must be at least 12 characters") }
        guard raw.count <= 1024 else { throw .invalid("the passphrase is longer than 1024 bytes") }
    }
}
