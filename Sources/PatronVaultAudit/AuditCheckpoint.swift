import Foundation
import PatronVaultCrypto

/// A signed statement "the trail had `size` entries and this Merkle root at `time`". Signing
/// checkpoints rather than entries keeps appends cheap (Crosby & Wallach); a copy kept outside
/// the vault lets anyone holding the public key detect later truncation or rewriting.
public struct AuditCheckpoint: Sendable, Equatable {
    /// The first line of the checkpoint text, naming the log (C2SP tlog-checkpoint "origin").
    public static let origin = "patronvault-audit/v1"
    /// The key name on the signature line (C2SP signed-note).
    public static let keyName = "patronvault-audit"
    static let keyIDByteCount = 4

    public let size: Int64
    public let rootHash: [UInt8]
    let microseconds: Int64
    /// The signed-note key hash: the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key),
    /// so a verifier holding several keys knows which one signed.
    public let keyID: [UInt8]
    /// Ed25519 signature over `body`.
    public let signature: [UInt8]

    init(size: Int64, rootHash: [UInt8], microseconds: Int64, keyID: [UInt8], signature: [UInt8]) {
        self.size = size
        self.rootHash = rootHash
        self.microseconds = microseconds
        self.keyID = keyID
        self.signature = signature
    }

    /// Signs a new checkpoint.
    init(size: Int64, rootHash: [UInt8], microseconds: Int64, signingKey: SigningKey) {
        self.size = size
        self.rootHash = rootHash
        self.microseconds = microseconds
        keyID = Self.keyID(for: signingKey.publicKey)
        signature = signingKey.signature(for: Array(Self.body(size: size, rootHash: rootHash, microseconds: microseconds).utf8))
    }

    public var time: Date { Date(auditMicroseconds: microseconds) }

    /// The signed part of the text: origin, size, base64 root, time in microseconds since 1970,
    /// each on its own line.
    public var body: String {
        Self.body(size: size, rootHash: rootHash, microseconds: microseconds)
    }

    public func isValid(for key: VerifyingKey) -> Bool {
        rootHash.count == MerkleFrontier.hashByteCount
            && keyID == Self.keyID(for: key)
            && key.isValidSignature(signature, for: Array(body.utf8))
    }

    static func body(size: Int64, rootHash: [UInt8], microseconds: Int64) -> String {
        "\(origin)\n\(size)\n\(Data(rootHash).base64EncodedString())\n\(microseconds)\n"
    }

    static func keyID(for key: VerifyingKey) -> [UInt8] {
        Array(Digest.sha256(Array(keyName.utf8) + [0x0A, 0x01] + key.bytes).prefix(keyIDByteCount))
    }
}

/// Encoded with its fields readable (bytes in base64, the time in ISO 8601) and `text`, the
/// signed note itself: the only form an outside verifier takes, so a JSON client keeps that.
extension AuditCheckpoint: Codable {
    private enum CodingKeys: String, CodingKey {
        case size, rootHash, time, keyID, signature, text
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(size, forKey: .size)
        try container.encode(Data(rootHash).base64EncodedString(), forKey: .rootHash)
        try container.encode(time.formatted(.iso8601), forKey: .time)
        try container.encode(Data(keyID).base64EncodedString(), forKey: .keyID)
        try container.encode(Data(signature).base64EncodedString(), forKey: .signature)
        try container.encode(text, forKey: .text)
    }

    /// From its signed text, the one part that matters: the other fields repeat it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            self = try AuditCheckpoint.parse(text: try container.decode(String.self, forKey: .text))
        } catch let error as AuditError {
            throw DecodingError.dataCorruptedError(forKey: .text, in: container, debugDescription: error.description)
        }
    }
}
