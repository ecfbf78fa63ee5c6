import Foundation

/// The checkpoint as text, laid out like a C2SP signed note so it can be mailed, printed or
/// committed somewhere the vault's operators cannot rewrite:
///
///     patronvault-audit/v1
///     <size>
///     <base64 root hash>
///     <time in microseconds since 1970>
///
///     — patronvault-audit <base64(key id ‖ Ed25519 signature)>
extension AuditCheckpoint {
    static let signatureLinePrefix = "\u{2014} \(keyName) "

    public var text: String {
        body + "\n" + Self.signatureLinePrefix + Data(keyID + signature).base64EncodedString() + "\n"
    }

    /// Parses checkpoint text strictly: the body must be exactly in canonical form, because the
    /// signature covers its bytes. Signature lines from other keys (cosigners) are ignored.
    public static func parse(text: String) throws(AuditError) -> AuditCheckpoint {
        guard text.hasSuffix("\n") else { throw .malformedCheckpoint("it does not end with a newline") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 6, lines[4].isEmpty else {
            throw .malformedCheckpoint("it needs four body lines, a blank line and a signature line")
        }
        guard lines[0] == origin else { throw .malformedCheckpoint("the origin line is not \(origin)") }
        guard let size = canonicalInteger(lines[1]), size >= 0 else {
            throw .malformedCheckpoint("the size line is not a non-negative decimal number")
        }
        guard let root = Data(base64Encoded: lines[2]), root.count == MerkleFrontier.hashByteCount,
              Data(root).base64EncodedString() == lines[2]
        else {
            throw .malformedCheckpoint("the root line is not a base64 SHA-256 hash")
        }
        guard let microseconds = canonicalInteger(lines[3]) else {
            throw .malformedCheckpoint("the time line is not a decimal number of microseconds")
        }
        let signatureLines = lines[5...].filter { $0.hasPrefix(signatureLinePrefix) }
        guard signatureLines.count == 1, let blob = Data(base64Encoded: String(signatureLines[0].dropFirst(signatureLinePrefix.count))),
              blob.count == keyIDByteCount + 64
        else {
            throw .malformedCheckpoint("it needs exactly one \(keyName) signature line with a key id and an Ed25519 signature")
        }
        let bytes = [UInt8](blob)
        return AuditCheckpoint(
            size: size, rootHash: [UInt8](root), microseconds: microseconds,
            keyID: Array(bytes[..<keyIDByteCount]), signature: Array(bytes[keyIDByteCount...]))
    }

    /// Decimal without sign or leading zeros (other than "0"), so each value has one spelling.
    private static func canonicalInteger(_ line: String) -> Int64? {
        guard let value = Int64(line), String(value) == line else { return nil }
        return value
    }
}
