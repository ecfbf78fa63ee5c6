import Foundation
import PatronVaultCrypto

extension PolicySet {
    /// The schema's file name inside a policy directory.
    public static let schemaFileName = "schema.pvschema"

    /// Loads `schema.pvschema`, every `*.policy` file directly in `directory` (sorted by name;
    /// the `tests/` folder is not read) and `retention.schedule` when there is one. Errors name
    /// the file by its name alone.
    public static func load(directory: URL) throws(PolicyLoadError) -> PolicySet {
        let schema = try PolicyDirectory.read(schemaFileName, in: directory)
        // Not following links: a dangling link or a folder in its place is an error, never a
        // schedule silently missing (records would be kept past their time).
        let retentionPath = directory.appendingPathComponent(RetentionSchedule.fileName).path
        let hasRetention = (try? FileManager.default.attributesOfItem(atPath: retentionPath)) != nil
        let retention = hasRetention ? try PolicyDirectory.read(RetentionSchedule.fileName, in: directory) : nil
        let names = try PolicyDirectory.fileNames(in: directory, endingWith: ".policy")
        guard !names.isEmpty else {
            throw PolicyLoadError(file: directory.lastPathComponent, line: 1, column: 1, message: "the directory holds no .policy files, so nothing could ever be permitted")
        }
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names {
            files.append((name, try PolicyDirectory.read(name, in: directory)))
        }
        return try PolicySet(schema: (schemaFileName, schema), files: files, retention: retention.map { (RetentionSchedule.fileName, $0) })
    }

    /// Builds a set from texts already in memory; file names are used only in errors and the digest.
    public init(
        schema: (name: String, text: String), files: [(name: String, text: String)], retention: (name: String, text: String)? = nil
    ) throws(PolicyLoadError) {
        var sources: [PolicySource] = []
        for file in files { sources.append(try PolicySource(name: file.name, text: file.text)) }
        try self.init(
            schemaSource: PolicySource(name: schema.name, text: schema.text), sources: sources,
            retention: retention.map { (file) throws(PolicyLoadError) in try PolicySource(name: file.name, text: file.text) })
    }

    /// Builds a set from raw bytes, refusing files over 1 MiB or not valid UTF-8.
    public init(
        schema: (name: String, bytes: [UInt8]), files: [(name: String, bytes: [UInt8])], retention: (name: String, bytes: [UInt8])? = nil
    ) throws(PolicyLoadError) {
        var sources: [PolicySource] = []
        for file in files { sources.append(try PolicySource(name: file.name, bytes: file.bytes)) }
        try self.init(
            schemaSource: PolicySource(name: schema.name, bytes: schema.bytes), sources: sources,
            retention: retention.map { (file) throws(PolicyLoadError) in try PolicySource(name: file.name, bytes: file.bytes) })
    }

    private init(schemaSource: PolicySource, sources: [PolicySource], retention: PolicySource?) throws(PolicyLoadError) {
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
        let schedule = try retention.map { (source) throws(PolicyLoadError) in try RetentionSchedule(source: source) } ?? .empty
        if let retention, let clash = schedule.rules.first(where: { seen[$0.id] != nil }), let earlier = seen[clash.id] {
            throw PolicyLoadError(
                file: retention.name, line: clash.line, column: clash.column,
                message: "duplicate rule id \(clash.id); it is already used at \(earlier.file):\(earlier.line):\(earlier.column)")
        }
        self.init(
            schema: schema, rules: rules, digest: Self.digest(schema: schemaSource, files: ordered, retention: retention), retention: schedule)
    }

    /// SHA-256 over a length-prefixed encoding of a version tag, then the schema, each policy
    /// file (sorted by name) and the retention schedule if there is one, as name and content.
    private static func digest(schema: PolicySource, files: [PolicySource], retention: PolicySource?) -> String {
        var stream = Digest.SHA256Stream()
        stream.update(Array("PatronVault policy set v1".utf8))
        let tagged = [(UInt8(ascii: "S"), schema)] + files.map({ (UInt8(ascii: "P"), $0) }) + (retention.map { [(UInt8(ascii: "R"), $0)] } ?? [])
        for (tag, source) in tagged {
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
