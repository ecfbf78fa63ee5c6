/// What an export bundle's signature covers: each file's name, size and BLAKE2b-256 hash, and
/// the patron's record-set value and count, so a verifier needing only the public export key can
/// tell an edited file, a missing one, or a record left out of the data.
public struct ExportManifest: Sendable, Codable, Equatable {
    public static let format = "patronvault.export-manifest.v1"

    public struct File: Sendable, Codable, Equatable {
        public let name: String
        public let bytes: Int
        public let blake2b: String
    }

    public struct RecordSet: Sendable, Codable, Equatable {
        public let value: String
        public let count: Int
    }

    public let format: String
    public let createdAt: String
    public let files: [File]
    public let recordSet: RecordSet
    /// The public export key that signed it, for reading; a verifier uses the key it trusts.
    public let exportKey: String
}
