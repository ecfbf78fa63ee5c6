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

    /// Writes and hashes the JSON and the page at once, on both cores: for a long history each
    /// is several megabytes. The JSON's record-set members and the page are written beside the
    /// rest of the JSON.
    static func make(_ data: PatronDataExport, signingKey: SigningKey) async throws(VaultError) -> ExportBundle {
        async let members = data.recordSetMembers
        async let page = Hashed(PatronDataPage(data).html)
        let history = data.historyLoans
        let json = Hashed(data.jsonBytes(history: history, members: await members))
        return try ExportBundle(data, json: json, page: await page, signingKey: signingKey)
    }

    /// A file's bytes with their BLAKE2b hash, taken on the core that wrote them.
    private struct Hashed: Sendable {
        let bytes: [UInt8]
        let blake2b: [UInt8]

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            blake2b = Digest.blake2b(bytes)
        }
    }

    private init(_ data: PatronDataExport, json: Hashed, page: Hashed, signingKey: SigningKey) throws(VaultError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let manifestBytes: [UInt8]
        let contents: [File]
        do {
            let hashed = [(Self.dataFileName, json), (Self.pageFileName, page)]
            contents = hashed.map { File(name: $0.0, bytes: $0.1.bytes) }
            manifest = ExportManifest(
                format: ExportManifest.format, createdAt: data.exportedAt.formatted(.iso8601),
                files: hashed.map { ExportManifest.File(name: $0.0, bytes: $0.1.bytes.count, blake2b: Hex.encode($0.1.blake2b)) },
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
    init(files: [File], from source: String = "the sealed export") throws(VaultError) {
        guard files.map(\.name) == [Self.dataFileName, Self.pageFileName, Self.manifestFileName, Self.signatureFileName],
              let manifest = try? JSONDecoder().decode(ExportManifest.self, from: Data(files[2].bytes))
        else {
            throw VaultError(.integrityFailure, "\(source) does not hold an export bundle")
        }
        self.files = files
        self.manifest = manifest
    }

    /// A bundle a front end received whole (the daemon's download), to write to a folder like
    /// one made here; `ExportBundleVerifier` checks it like any other.
    public init(received files: [(name: String, contents: [UInt8])]) throws(VaultError) {
        try self.init(files: files.map { File(name: $0.name, bytes: $0.contents) }, from: "the daemon's answer")
    }

    /// Refuses a folder that exists and is not empty, or whose parent does not exist; a front end
    /// checks before asking the vault, so a bad folder costs no export.
    public static func checkTarget(_ directory: URL) throws(VaultError) {
        try BackupFolder.checkNew(directory.standardizedFileURL, what: "export")
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
            for file in files { try Self.writeNew(file.bytes, at: staging.appendingPathComponent(file.name).path) }
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            guard rename(staging.path, target.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? fm.removeItem(at: staging)
            throw VaultError.storage("the export could not be written to \(target.path)")
        }
    }

    /// Creates a file that must not exist, 0600 from its first byte, and writes `bytes` straight
    /// from the array (no copy into `Data`, no second temporary file inside the staging folder).
    private static func writeNew(_ bytes: [UInt8], at path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(descriptor) }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw CocoaError(.fileWriteUnknown) }
                offset += written
            }
        }
    }
}
