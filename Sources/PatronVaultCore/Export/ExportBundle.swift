import Foundation
import PatronVaultCrypto

/// A patron's export, ready to hand over: the data as JSON, the same as a page a person can read
/// and print, a manifest of both, and the manifest's detached Ed25519 signature by the vault's
/// export key. Made in memory so a front end can write it to a folder (the CLI) or send it
/// (the daemon).
public struct ExportBundle: Sendable {
    public static let dataFileName = "patron-data.json"
    public static let pageFileName = "patron-data.html"
    public static let manifestFileName = "manifest.json"
    public static let signatureFileName = "manifest.sig"

    public struct File: Sendable {
        public let name: String
        public let bytes: [UInt8]
    }

    /// Data, page, manifest and signature, in that order.
    public let files: [File]
    public let manifest: ExportManifest

    /// Writes the JSON and the page at once, one on each core: for a long history each is
    /// several megabytes.
    static func make(_ data: PatronDataExport, signingKey: SigningKey) async throws(VaultError) -> ExportBundle {
        async let page = PatronDataPage(data).html
        let json = data.jsonBytes
        return try ExportBundle(data, json: json, page: await page, signingKey: signingKey)
    }

    private init(_ data: PatronDataExport, json: [UInt8], page: [UInt8], signingKey: SigningKey) throws(VaultError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let manifestBytes: [UInt8]
        let contents: [File]
        do {
            contents = [File(name: Self.dataFileName, bytes: json), File(name: Self.pageFileName, bytes: page)]
            manifest = ExportManifest(
                format: ExportManifest.format, createdAt: data.exportedAt.formatted(.iso8601),
                files: contents.map { ExportManifest.File(name: $0.name, bytes: $0.bytes.count, blake2b: Hex.encode(Digest.blake2b($0.bytes))) },
                recordSet: ExportManifest.RecordSet(value: data.recordSet.value, count: data.recordSet.count),
                exportKey: signingKey.publicKey.hex)
            manifestBytes = Array(try encoder.encode(manifest)) + [0x0A]
        } catch {
            throw VaultError(.storageFailure, "the export could not be encoded")
        }
        let signature = Array((Hex.encode(signingKey.signature(for: manifestBytes)) + "\n").utf8)
        files = contents + [File(name: Self.manifestFileName, bytes: manifestBytes), File(name: Self.signatureFileName, bytes: signature)]
    }

    /// A bundle taken back out of a sealed export: the files as they were, checked later by
    /// `ExportBundleVerifier` like any bundle.
    init(files: [File]) throws(VaultError) {
        guard files.map(\.name) == [Self.dataFileName, Self.pageFileName, Self.manifestFileName, Self.signatureFileName],
              let manifest = try? JSONDecoder().decode(ExportManifest.self, from: Data(files[2].bytes))
        else {
            throw VaultError(.integrityFailure, "the sealed export does not hold an export bundle")
        }
        self.files = files
        self.manifest = manifest
    }

    /// Refuses a folder that exists and is not empty, or whose parent does not exist; a front end
    /// checks before asking the vault, so a bad folder costs no export.
    public static func checkTarget(_ directory: URL) throws(VaultError) {
        let fm = FileManager.default
        let target = directory.standardizedFileURL
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? fm.contentsOfDirectory(atPath: target.path))?.isEmpty == true else {
                throw VaultError(.alreadyExists, "the export folder \(target.path) already exists and is not empty; name a new or empty folder")
            }
        }
        let parent = target.deletingLastPathComponent()
        guard fm.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VaultError.notFound("the folder \(parent.path) to write the export in does not exist")
        }
    }

    /// Writes the bundle into `directory`, which must not exist or be empty. Everything goes into
    /// a temporary folder beside it first, then is renamed into place, so a failure leaves
    /// nothing half-written. The folder is 0700 and the files 0600: they hold the patron's data.
    public func write(to directory: URL) throws(VaultError) {
        let fm = FileManager.default
        let target = directory.standardizedFileURL
        try Self.checkTarget(target)
        let parent = target.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).partial-\(UUID().uuidString)", isDirectory: true)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for file in files {
                let path = staging.appendingPathComponent(file.name).path
                guard fm.createFile(atPath: path, contents: Data(file.bytes), attributes: [.posixPermissions: 0o600]) else {
                    throw CocoaError(.fileWriteUnknown)
                }
            }
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            guard rename(staging.path, target.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? fm.removeItem(at: staging)
            throw VaultError.storage("the export could not be written to \(target.path)")
        }
    }
}
