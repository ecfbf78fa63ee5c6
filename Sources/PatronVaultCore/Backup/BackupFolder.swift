import Foundation
import PatronVaultCrypto

/// The files of a backup folder: written into a staging folder beside the target and renamed
/// into place, described by size and SHA-256 (streamed: a vault can be gigabytes), and the
/// manifest signed.
enum BackupFolder {
    /// Refuses a folder that exists and is not empty, or whose parent does not exist (for exports
    /// too: the same rule for every folder the vault writes whole).
    static func checkNew(_ target: URL, what: String) throws(VaultError) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? fm.contentsOfDirectory(atPath: target.path))?.isEmpty == true else {
                throw VaultError(.alreadyExists, "the \(what) folder \(target.path) already exists and is not empty; name a new or empty folder")
            }
        }
        let parent = target.deletingLastPathComponent()
        guard fm.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VaultError.notFound("the folder \(parent.path) to write the \(what) in does not exist")
        }
    }

    /// A new folder beside `target` (0700) with `subfolders` in it (a backup's `records/` and
    /// `keys/` by default).
    static func staging(beside target: URL, subfolders: [String] = ["records", "keys"]) throws(VaultError) -> URL {
        let staging = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).partial-\(UUID().uuidString)", isDirectory: true)
        do {
            for folder in [staging] + subfolders.map({ staging.appendingPathComponent($0) }) {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw VaultError.storage("a folder beside \(target.path) could not be created")
        }
        return staging
    }

    /// The file's size and SHA-256, read in 1 MiB pieces.
    static func describe(_ url: URL, as name: String) throws -> BackupManifest.File {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw VaultError.storage("the backup file \(name) cannot be read") }
        defer { try? handle.close() }
        var hash = Digest.SHA256Stream()
        var size = 0
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty {
            piece.withUnsafeBytes { hash.update($0) }
            size += piece.count
        }
        return BackupManifest.File(name: name, bytes: size, sha256: Hex.encode(hash.finalize()))
    }

    static func sign(_ manifest: BackupManifest, with key: SigningKey, in folder: URL) throws {
        let bytes = try manifestBytes(manifest)
        try Data(bytes).write(to: folder.appendingPathComponent(BackupManifest.manifestFile))
        try Data((Hex.encode(key.signature(for: bytes)) + "\n").utf8).write(to: folder.appendingPathComponent(BackupManifest.signatureFile))
        for name in [BackupManifest.manifestFile, BackupManifest.signatureFile] { chmod(folder.appendingPathComponent(name).path, 0o600) }
    }

    static func manifestBytes(_ manifest: BackupManifest) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(manifest)) + [0x0A]
    }

    /// Moves the finished staging folder into place (an empty target is replaced).
    static func finish(_ staging: URL, as target: URL) throws {
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        guard rename(staging.path, target.path) == 0 else { throw VaultError.storage("the folder could not be moved into place at \(target.path)") }
    }

    /// The manifest and its signature as a backup folder holds them; refused when either is
    /// missing or malformed.
    static func readManifest(in folder: URL) throws(VaultError) -> (manifest: BackupManifest, bytes: [UInt8], signature: [UInt8]) {
        guard let bytes = FileManager.default.contents(atPath: folder.appendingPathComponent(BackupManifest.manifestFile).path),
              let manifest = try? JSONDecoder().decode(BackupManifest.self, from: bytes), manifest.format == BackupManifest.format
        else {
            throw VaultError(.notFound, "\(folder.path) is not a PatronVault backup (no readable manifest.json)")
        }
        guard let signatureText = FileManager.default.contents(atPath: folder.appendingPathComponent(BackupManifest.signatureFile).path),
              let signature = ExportBundleVerifier.detachedSignature(Array(signatureText))
        else {
            throw VaultError(.integrityFailure, "the backup's manifest.sig is missing or malformed")
        }
        return (manifest, Array(bytes), signature)
    }
}
