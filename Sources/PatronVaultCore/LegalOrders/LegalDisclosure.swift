import Foundation
import PatronVaultCrypto

/// What a legal order's disclosure hands over: `disclosure.json` (the order and only the records
/// it covers), a manifest of it, and the manifest's Ed25519 signature by the vault's export key,
/// so the court or agency can check with the public key alone that nothing was changed.
public struct LegalDisclosure: Sendable {
    public static let format = "patronvault.legal-disclosure.v1"
    public static let dataFileName = "disclosure.json"
    public static let manifestFileName = "manifest.json"
    public static let signatureFileName = "manifest.sig"

    /// The disclosed content, as it is written to `disclosure.json`.
    public struct Content: Sendable, Encodable {
        public let order: LegalOrder
        /// Only for scope `registration` or `all`.
        public let registration: PatronRegistration?
        /// Only for scope `all`: loans still out, in the order's window.
        public let openLoans: [Loan]
        /// For scope `history` or `all`: returned loans the patron kept, in the order's window.
        public let history: [Loan]
        public let disclosedAt: Date

        private enum CodingKeys: String, CodingKey {
            case format, order, registration, openLoans, history, disclosedAt
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(LegalDisclosure.format, forKey: .format)
            try container.encode(order, forKey: .order)
            try container.encodeIfPresent(registration, forKey: .registration)
            try container.encode(openLoans, forKey: .openLoans)
            try container.encode(history, forKey: .history)
            try container.encode(disclosedAt.iso8601Text, forKey: .disclosedAt)
        }
    }

    public struct Manifest: Sendable, Codable, Equatable {
        public let format: String
        public let order: String
        public let createdAt: String
        public let file: String
        public let bytes: Int
        public let blake2b: String
        /// The public export key that signed it, for reading; a verifier uses the key it trusts.
        public let exportKey: String
    }

    public let content: Content
    public let manifest: Manifest
    /// `disclosure.json`, `manifest.json` and `manifest.sig`, in that order.
    public let files: [(name: String, bytes: [UInt8])]

    init(_ content: Content, signingKey: SigningKey) throws(VaultError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let data = Array(try encoder.encode(content)) + [0x0A]
            let manifest = Manifest(
                format: "patronvault.legal-disclosure-manifest.v1", order: content.order.id, createdAt: content.disclosedAt.iso8601Text,
                file: Self.dataFileName, bytes: data.count, blake2b: Hex.encode(Digest.blake2b(data)), exportKey: signingKey.publicKey.hex)
            let manifestBytes = Array(try encoder.encode(manifest)) + [0x0A]
            let signature = Array((Hex.encode(signingKey.signature(for: manifestBytes)) + "\n").utf8)
            self.content = content
            self.manifest = manifest
            files = [(Self.dataFileName, data), (Self.manifestFileName, manifestBytes), (Self.signatureFileName, signature)]
        } catch {
            throw VaultError(.storageFailure, "the disclosure could not be encoded")
        }
    }

    /// Refuses a folder that exists and is not empty; a front end checks before asking the
    /// vault, so a bad folder never costs an order its one disclosure.
    public static func checkTarget(_ directory: URL) throws(VaultError) {
        try BackupFolder.checkNew(directory.standardizedFileURL, what: "disclosure")
    }

    /// Writes the files into `directory` (0700, files 0600) through a staging folder renamed into
    /// place, so a failure leaves nothing half-written.
    public func write(to directory: URL) throws(VaultError) {
        try Self.write(files, to: directory)
    }

    /// Writes a disclosure's files received whole (the daemon's tar): exactly the three names,
    /// nothing else, the same way. `verify` checks them after.
    public static func write(_ files: [(name: String, bytes: [UInt8])], to directory: URL) throws(VaultError) {
        guard files.map(\.name).sorted() == [dataFileName, manifestFileName, signatureFileName].sorted() else {
            throw VaultError(.integrityFailure, "the answer does not hold a disclosure (\(dataFileName), \(manifestFileName), \(signatureFileName))")
        }
        let target = directory.standardizedFileURL
        try checkTarget(target)
        let staging = try BackupFolder.staging(beside: target, subfolders: [])
        do {
            for file in files {
                let url = staging.appendingPathComponent(file.name)
                guard FileManager.default.createFile(atPath: url.path, contents: Data(file.bytes), attributes: [.posixPermissions: 0o600]) else {
                    throw VaultError.storage("the disclosure could not be written to \(target.path)")
                }
            }
            try BackupFolder.finish(staging, as: target)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error as? VaultError ?? VaultError.storage("the disclosure could not be written to \(target.path)")
        }
    }
}

extension LegalDisclosure {
    /// Checks a disclosure folder with only the vault's public export key: the signature over
    /// the manifest as written, then `disclosure.json` against the manifest's size and hash, and
    /// that the folder holds nothing else. What a court or agency runs on what it received.
    public static func verify(directory: URL, key: VerifyingKey) throws(VaultError) -> Manifest {
        func read(_ name: String) throws(VaultError) -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { throw failure("\(name) is missing") }
            return Array(data)
        }
        let manifestBytes = try read(manifestFileName)
        let signatureFile = try read(signatureFileName)
        guard let signature = ExportBundleVerifier.detachedSignature(signatureFile), key.isValidSignature(signature, for: manifestBytes) else {
            throw failure("the manifest's signature does not verify with this export key")
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(manifestBytes)), manifest.file == dataFileName else {
            throw failure("the manifest is not a PatronVault disclosure manifest this version reads")
        }
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        if let extra = present.subtracting([dataFileName, manifestFileName, signatureFileName]).sorted().first {
            throw failure("the folder holds a file the manifest does not list (\(extra))")
        }
        let data = try read(dataFileName)
        guard data.count == manifest.bytes, ConstantTime.equals(Digest.blake2b(data), Hex.decode(manifest.blake2b) ?? []) else {
            throw failure("\(dataFileName) does not match its hash in the manifest")
        }
        return manifest
    }

    /// The export key a disclosure's manifest names, for reading (a recipient checks with the key
    /// they trust, not this one).
    public static func exportKey(in directory: URL) throws(VaultError) -> VerifyingKey {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(manifestFileName).path),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data), let key = try? VerifyingKey(hex: manifest.exportKey)
        else {
            throw failure("the manifest does not name an export key")
        }
        return key
    }

    private static func failure(_ reason: String) -> VaultError {
        VaultError(.integrityFailure, "the disclosure fails verification: \(reason)")
    }
}
