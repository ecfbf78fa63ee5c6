import Foundation

/// Policy test cases (`*.cases` files), so a change to the rules is checked against the
/// outcomes the library has promised, like `opa test`. A file holds blocks such as:
///
/// ```
/// case staff cannot read reading history
///   principal: role=staff, id=s1
///   action: history.read
///   resource: kind=history, patron=p1, state=closed
///   context: purpose=circulation
///   expect: forbid by history-only-for-the-patron
/// ```
/// `expect:` is `permit` or `forbid`, optionally `by` rule ids that must be among the deciding
/// rules, or `by default` when no rule may match. An optional `reveals:` lists exactly the
/// fields the decision must reveal (`reveals: nothing` for none), so adding a field to a rule
/// fails the case that promised less. Requests use `PolicyRequest.parse`; a case
/// without `time=` is decided at 2025-01-01T00:00:00Z so results never depend on the clock.
public struct PolicyTestSuite: Sendable {
    struct Case: Sendable {
        let file: String
        let line: Int
        let name: String
        let request: PolicyRequest
        let expected: PolicyEffect
        let expectedRuleIDs: [String]
        let expectsDefaultDenial: Bool
        let expectedReveals: RevealedFields?
    }

    let cases: [Case]
    let schema: PolicySchema

    /// When cases are decided unless they give `time=`.
    public static let fixedTime = Date(timeIntervalSince1970: 1_735_689_600)

    /// Loads every `*.cases` file directly in `directory` (the policy directory's `tests/`).
    public static func load(directory: URL, schema: PolicySchema) throws(PolicyLoadError) -> PolicyTestSuite {
        var files: [(name: String, bytes: [UInt8])] = []
        for name in try PolicyDirectory.fileNames(in: directory, endingWith: ".cases") {
            files.append((name, try PolicyDirectory.read(name, in: directory)))
        }
        return try PolicyTestSuite(schema: schema, files: files)
    }

    public init(schema: PolicySchema, files: [(name: String, text: String)]) throws(PolicyLoadError) {
        var sources: [PolicySource] = []
        for file in files { sources.append(try PolicySource(name: file.name, text: file.text)) }
        try self.init(schema: schema, sources: sources)
    }

    public init(schema: PolicySchema, files: [(name: String, bytes: [UInt8])]) throws(PolicyLoadError) {
        var sources: [PolicySource] = []
        for file in files { sources.append(try PolicySource(name: file.name, bytes: file.bytes)) }
        try self.init(schema: schema, sources: sources)
    }

    private init(schema: PolicySchema, sources: [PolicySource]) throws(PolicyLoadError) {
        var cases: [Case] = []
        for source in sources.sorted(by: { $0.name < $1.name }) {
            var reader = CaseReader(source: source, schema: schema)
            cases += try reader.read()
        }
        self.cases = cases
        self.schema = schema
    }

    public var count: Int { cases.count }

    /// Decides every case against `set`, in file order.
    public func run(against set: PolicySet) -> [PolicyTestResult] {
        cases.map { item in
            PolicyTestResult(
                file: item.file, line: item.line, name: item.name, expected: item.expected,
                expectedRuleIDs: item.expectedRuleIDs, expectsDefaultDenial: item.expectsDefaultDenial,
                expectedReveals: item.expectedReveals.map(schema.fieldNames), actual: set.decide(item.request), schema: set.schema)
        }
    }
}

/// Reads case blocks line by line; every error points at the line and column of the bad text.
private struct CaseReader {
    let source: PolicySource
    let schema: PolicySchema

    private struct Field {
        let value: String
        let line: Int
        let column: Int
    }

    private static let keys = ["principal", "action", "resource", "context", "expect", "reveals"]

    mutating func read() throws(PolicyLoadError) -> [PolicyTestSuite.Case] {
        let text = String(decoding: source.bytes, as: UTF8.self)
        var cases: [PolicyTestSuite.Case] = []
        var open: (name: String, line: Int, fields: [String: Field])?
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let indent = line.prefix { $0 == " " || $0 == "\t" }
            let content = line.dropFirst(indent.count)
            let column = indent.unicodeScalars.count + 1
            if content.isEmpty || content.hasPrefix("#") { continue }
            if let scalar = content.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) {
                throw error("control character U+\(String(scalar.value, radix: 16, uppercase: true)) in a case file", line: lineNumber, column: column)
            }
            if content == "case" || content.hasPrefix("case ") {
                if let finished = open { cases.append(try build(finished)) }
                let name = String(content.dropFirst(4)).trimmingSpaces
                guard !name.isEmpty else { throw error("a case needs a name after \"case\"", line: lineNumber, column: column) }
                open = (String(name), lineNumber, [:])
                continue
            }
            guard open != nil else {
                throw error("expected \"case <name>\" to start a test case, found \(content.prefix(40))", line: lineNumber, column: column)
            }
            guard let colon = content.firstIndex(of: ":") else {
                throw error("expected key: value (principal, action, resource, context, expect or reveals)", line: lineNumber, column: column)
            }
            let key = String(content[..<colon])
            guard Self.keys.contains(key) else {
                throw error("unknown key \(key); a case has principal, action, resource, context, expect and reveals", line: lineNumber, column: column)
            }
            guard open!.fields[key] == nil else {
                throw error("\(key) is given twice in case \(open!.name)", line: lineNumber, column: column)
            }
            let afterColon = content[content.index(after: colon)...]
            let spaces = afterColon.prefix { $0 == " " || $0 == "\t" }.unicodeScalars.count
            let valueColumn = column + key.unicodeScalars.count + 1 + spaces
            open!.fields[key] = Field(value: String(afterColon.dropFirst(spaces)), line: lineNumber, column: valueColumn)
        }
        if let finished = open { cases.append(try build(finished)) }
        return cases
    }

    private func error(_ message: String, line: Int, column: Int) -> PolicyLoadError {
        PolicyLoadError(file: source.name, line: line, column: column, message: message)
    }

    private func build(_ block: (name: String, line: Int, fields: [String: Field])) throws(PolicyLoadError) -> PolicyTestSuite.Case {
        for key in ["principal", "action", "resource", "expect"] where block.fields[key] == nil {
            throw error("case \(block.name) has no \(key): line", line: block.line, column: 1)
        }
        let fields = block.fields
        let request: PolicyRequest
        do {
            request = try PolicyRequest.parse(
                principal: fields["principal"]!.value, action: fields["action"]!.value, resource: fields["resource"]!.value,
                context: fields["context"]?.value ?? "", schema: schema, defaultTime: PolicyTestSuite.fixedTime)
        } catch {
            let field = fields[error.part]!
            throw self.error(error.description, line: field.line, column: field.column + error.offset)
        }
        let expect = fields["expect"]!
        let words = expect.value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
        guard let first = words.first, let effect = PolicyEffect(rawValue: first) else {
            throw error("expect: must start with permit or forbid", line: expect.line, column: expect.column)
        }
        var ids: [String] = []
        var byDefault = false
        if words.count > 1 {
            guard words[1] == "by", words.count > 2 else {
                throw error("after \(first) write \"by <rule-id>\" or \"by default\", or nothing", line: expect.line, column: expect.column)
            }
            if words.count == 3, words[2] == "default" {
                guard effect == .forbid else {
                    throw error("only forbid happens by default; nothing is permitted by default", line: expect.line, column: expect.column)
                }
                byDefault = true
            } else {
                ids = Array(words[2...])
            }
        }
        var reveals: RevealedFields?
        if let field = fields["reveals"] {
            let names = field.value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
            if names == ["nothing"] {
                reveals = .nothing
            } else {
                guard !names.isEmpty else { throw error("reveals: lists fields, or says nothing", line: field.line, column: field.column) }
                guard effect == .permit else {
                    throw error("a forbid reveals nothing; list fields in reveals: only for expect: permit", line: field.line, column: field.column)
                }
                switch schema.fields(named: names) {
                case .success(let set): reveals = set
                case .failure(let unknown):
                    let offset = field.value.range(of: unknown.name).map { field.value.distance(from: field.value.startIndex, to: $0.lowerBound) } ?? 0
                    throw error(
                        "unknown field \(unknown.name); the schema's fields are \(schema.fields.joined(separator: ", "))", line: field.line,
                        column: field.column + offset)
                }
            }
        }
        return PolicyTestSuite.Case(
            file: source.name, line: block.line, name: block.name, request: request,
            expected: effect, expectedRuleIDs: ids, expectsDefaultDenial: byDefault, expectedReveals: reveals)
    }
}
