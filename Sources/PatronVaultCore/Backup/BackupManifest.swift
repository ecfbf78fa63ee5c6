import Foundation

/// What a backup's signature covers: each file's name, size and SHA-256, the master-key version
/// its wrapped keys are under, and when it was taken. The records and the key store are separate
/// files in separate folders because they are kept for different lengths of time: record backups
/// may be kept long; key-store backups no longer than the erasure deadline, so an erased
/// patron's records in an old record backup can never be opened again.
public struct BackupManifest: Sendable, Codable, Equatable {
    public static let format = "patronvault.backup-manifest.v1"
    public static let recordsFile = "records/vault.db"
    public static let keysFile = "keys/keys.db"
    static let manifestFile = "manifest.json"
    static let signatureFile = "manifest.sig"

    public struct File: Sendable, Codable, Equatable {
        public let name: String
        public let bytes: Int
        public let sha256: String
    }

    public let format: String
    public let createdAt: String
    public let files: [File]
    public let kekVersion: Int64
    /// The public audit key that signed it (the one `audit key` prints), for reading; a restore
    /// checks the signature with the key of the vault it opens.
    public let auditKey: String

    func file(_ name: String) -> File? {
        files.first { $0.name == name }
    }
}
