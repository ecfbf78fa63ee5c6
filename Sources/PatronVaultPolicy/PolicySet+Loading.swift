import Foundation
import PatronVaultCrypto

extension PolicySet {
    /// The schema's file name inside a policy directory.
    public static let schemaFileName = "schema.pvschema"

    /// Loads `schema.pvschema` and every `*.policy` file directly in `directory` (sorted by
    /// name; the `tests/` folder is not read). Errors name the file by its name alone.
    public static func load(directory: URL) throws(PolicyLoadError) -> PolicySet {
        let schema = try PolicyDirectory.read(schemaFileName, in: directory)
        let names = try PolicyDirectory.fileNames(in: directory, endingWith: ".policy")
        guard !names.isEmpty else {
            throw PolicyLoadError(file: directory.lastPathComponent, line: 1, column: 1, message: "the directory holds no .policy files, so nothing could ever be permitted")
        }
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names {
            files.append((name, try PolicyDirectory.read(name, in: directory)))
        }
        return try PolicySet(schema: (schemaFileName, schema), files: files)
    }

    /// Builds a set from texts already in memory; file names are used only in errors and the digest.
    public init(schema: (name: String, text: String), files: [(name: String, text: String)]) throws(PolicyLoadError) {
        var sources: [PolicySource] = []
        for file in files { sources.append(try PolicySource(name: file.name, text: file.text)) }
        try self.init(schemaSource: PolicySource(name: schema.name, text: schema.text), sources: sources)
    }

    /// Builds a set from raw bytes, refusing files over 1 MiB or not valid UTF-8.
    public init(schema: (name: String, bytes: [UInt8]), files: [(name: String, bytes: [UInt8])]) throws(PolicyLoadError) {
        var sources: [PolicySource] = []
        for file in files { sources.append(try PolicySource(name: file.name, bytes: file.bytes)) }
        try self.init(schemaSource: PolicySource(name: schema.name, bytes: schema.bytes), sources: sources)
    }

    private init(schemaSource: PolicySource, sources: [PolicySource]) throws(PolicyLoadError) {
        let schema = try PolicySchema(source: schemaSource)
        let ordered = sources.sorted { $0.name < $1.name }
        var rules: [PolicyRule] = []
        var seen: [String: PolicyRule] = [:]
        var previousName: String?
        for source in ordered {
            if source.name == previousName || source.name == schemaSource.name {
                throw PolicyLoadError(file: source.name, line: 1, column: 1, message: "the file \(source.name) is given twice")
            }
            previousName = source.name
            for rule in try RuleParser.rules(in: source, schema: schema) {
                if let earlier = seen[rule.id] {
                    throw PolicyLoadError(
                        file: rule.file, line: rule.line, column: rule.column,
                        message: "duplicate rule id \(rule.id); it is already used at \(earlier.file):\(earlier.line):\(earlier.column)")
                }
                seen[rule.id] = rule
                rules.append(rule)
            }
        }
        self.init(schema: schema, rules: rules, digest: Self.digest(schema: schemaSource, files: ordered))
    }

    /// SHA-256 over a length-prefixed encoding of a version tag, then the schema and each
    /// policy file (sorted by name) as name and content.
    private static func digest(schema: PolicySource, files: [PolicySource]) -> String {
        var stream = Digest.SHA256Stream()
        stream.update(Array("PatronVault policy set v1".utf8))
        for (tag, source) in [(UInt8(ascii: "S"), schema)] + files.map({ (UInt8(ascii: "P"), $0) }) {
            stream.update(byte: tag)
            let name = Array(source.name.utf8)
            stream.update(bigEndian: UInt64(name.count))
            stream.update(name)
            stream.update(bigEndian: UInt64(source.bytes.count))
            stream.update(source.bytes)
        }
        return hex(stream.finalize())
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func digest(of text: String) -> String {
        hex(Digest.sha256(Array(text.utf8)))
    }
}

extension Digest.SHA256Stream {
    fileprivate mutating func update(bigEndian value: UInt64) {
        update(withUnsafeBytes(of: value.bigEndian) { Array($0) })
    }
}
