/// The vocabulary policies may use: actions, roles, resource kinds, other enumerations such as
/// purposes, and typed attributes. Checking every policy against it at load turns a typo such as
/// `context.purpse` or `"circulaton"` into an error instead of a rule that silently never matches.
public struct PolicySchema: Sendable {
    /// The schema file's name as given to the loader.
    public let name: String
    public let actions: [String]
    public let roles: [String]
    public let resourceKinds: [String]
    /// Declared attribute paths, in file order.
    public let attributePaths: [String]
    /// Fields a read may reveal (`reveals ACTION: ...` lines), masked forms included, in the
    /// order first declared: bit `i` of a `RevealedFields` is `fields[i]`.
    public let fields: [String]

    let enumerations: [String: [String]]
    let attributes: [String: SchemaAttribute]
    let actionIndex: [String: Int]
    let roleIndex: [String: Int]
    let fieldIndex: [String: Int]
    /// Per action index: the fields that action may reveal.
    let actionFields: [RevealedFields]
    /// The file's bytes, for the policy-set digest.
    let bytes: [UInt8]

    /// Roles are matched as bits of one machine word.
    static let maximumRoleCount = 64
    /// Revealed fields are bits of one machine word too.
    static let maximumFieldCount = 64

    public init(name: String, text: String) throws(PolicyLoadError) {
        try self.init(source: PolicySource(name: name, text: text))
    }

    public init(name: String, bytes: [UInt8]) throws(PolicyLoadError) {
        try self.init(source: PolicySource(name: name, bytes: bytes))
    }

    init(source: PolicySource) throws(PolicyLoadError) {
        var parser = SchemaParser(source: source, tokens: try PolicyLexer.tokens(of: source))
        let parsed = try parser.parse()
        self.init(
            name: source.name, bytes: source.bytes, enumerations: parsed.enumerations, attributes: parsed.attributes, order: parsed.order,
            fields: parsed.fields, reveals: parsed.reveals)
    }

    private init(
        name: String, bytes: [UInt8], enumerations: [String: [String]], attributes: [String: SchemaAttribute], order: [String],
        fields: [String] = [], reveals: [String: [String]] = [:]
    ) {
        self.name = name
        self.bytes = bytes
        self.enumerations = enumerations
        self.attributes = attributes
        self.attributePaths = order
        self.actions = enumerations["action"] ?? []
        self.roles = enumerations["role"] ?? []
        self.resourceKinds = enumerations["resource-kind"] ?? []
        self.actionIndex = Dictionary(actions.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        self.roleIndex = Dictionary(roles.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        self.fields = fields
        let fieldIndex = Dictionary(fields.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        self.fieldIndex = fieldIndex
        self.actionFields = actions.map { action in
            RevealedFields(bits: (reveals[action] ?? []).reduce(0) { $0 | 1 << UInt64(fieldIndex[$1]!) })
        }
    }

    /// A schema that names nothing, for the built-in permit-everything and forbid-everything sets.
    static let empty = PolicySchema(name: "(built in)", bytes: [], enumerations: [:], attributes: [:], order: [])

    /// The members of a declared enumeration, such as `purpose`; empty when it is not declared.
    public func members(of enumeration: String) -> [String] {
        enumerations[enumeration] ?? []
    }

    /// The names of the fields in `revealed`, in the schema's order.
    public func fieldNames(_ revealed: RevealedFields) -> [String] {
        fields.indices.filter(revealed.contains(fieldAt:)).map { fields[$0] }
    }

    /// The fields `action` may reveal (none for an action the schema does not list, or one
    /// without a `reveals` line).
    public func fields(revealedBy action: String) -> RevealedFields {
        actionIndex[action].map { actionFields[$0] } ?? .nothing
    }

    /// The field's bit, or nil when the schema does not declare it: a front end or the vault
    /// then never shows it.
    public func field(named name: String) -> RevealedFields? {
        fieldIndex[name].map { RevealedFields(bits: 1 << UInt64($0)) }
    }

    /// The set of the named fields, or nil naming the first one the schema does not declare.
    public func fields(named names: [String]) -> Result<RevealedFields, UnknownField> {
        var bits: UInt64 = 0
        for name in names {
            guard let index = fieldIndex[name] else { return .failure(UnknownField(name: name)) }
            bits |= 1 << UInt64(index)
        }
        return .success(RevealedFields(bits: bits))
    }

    /// A field name the schema does not declare.
    public struct UnknownField: Error, Sendable {
        public let name: String
    }
}

/// A declared attribute: the engine slot behind it and the type policies must respect.
struct SchemaAttribute: Sendable {
    let slot: AttributeSlot
    let type: SchemaType
    let optional: Bool
}

enum SchemaType: Sendable, Equatable {
    case string
    case bool
    case int
    case datetime
    case enumeration(String)

    /// How the type reads in an error message.
    var phrase: String {
        switch self {
        case .string: "text"
        case .bool: "true/false"
        case .int: "a number"
        case .datetime: "a date and time"
        case .enumeration(let name): "a \(name)"
        }
    }
}

/// Reads `enum NAME: a, b, c`, `attribute PATH: [optional] TYPE` and
/// `reveals ACTION: field, field.mask, ...` declarations.
private struct SchemaParser {
    let source: PolicySource
    let tokens: [PolicyToken]
    var position = 0

    init(source: PolicySource, tokens: [PolicyToken]) {
        self.source = source
        self.tokens = tokens
    }

    struct Result {
        var enumerations: [String: [String]] = [:]
        var attributes: [String: SchemaAttribute] = [:]
        var order: [String] = []
        var fields: [String] = []
        var reveals: [String: [String]] = [:]
    }

    private var current: PolicyToken { tokens[position] }

    private func error(_ message: String, at token: PolicyToken) -> PolicyLoadError {
        PolicyLoadError(file: source.name, line: token.line, column: token.column, message: message)
    }

    private mutating func expectColon(after what: String) throws(PolicyLoadError) {
        guard current.isSymbol(.colon) else { throw error("expected \":\" after \(what), found \(current.spelling)", at: current) }
        position += 1
    }

    private mutating func name(_ what: String) throws(PolicyLoadError) -> PolicyToken {
        guard current.word != nil else { throw error("expected \(what), found \(current.spelling)", at: current) }
        defer { position += 1 }
        return current
    }

    mutating func parse() throws(PolicyLoadError) -> Result {
        var result = Result()
        var enumTokens: [String: PolicyToken] = [:]
        var pending: [(path: PolicyToken, optional: Bool, type: PolicyToken)] = []
        var pendingReveals: [(action: PolicyToken, fields: [PolicyToken])] = []
        while current.kind != .end {
            let keyword = current
            if keyword.isWord("enum") {
                position += 1
                let nameToken = try name("an enumeration name")
                let enumName = nameToken.word!
                guard result.enumerations[enumName] == nil else {
                    throw error("the enumeration \(enumName) is declared twice", at: nameToken)
                }
                guard !["string", "bool", "int", "datetime", "optional"].contains(enumName) else {
                    throw error("\(enumName) is a built-in type name and cannot name an enumeration", at: nameToken)
                }
                try expectColon(after: "enum \(enumName)")
                var members: [String] = []
                repeat {
                    if current.isSymbol(.comma) { position += 1 }
                    let member: String
                    switch current.kind {
                    case .word(let text), .string(let text): member = text
                    default: throw error("expected a member of \(enumName), found \(current.spelling)", at: current)
                    }
                    guard !members.contains(member) else {
                        throw error("\(enumName) lists \(member) twice", at: current)
                    }
                    members.append(member)
                    position += 1
                } while current.isSymbol(.comma)
                if enumName == "role", members.count > PolicySchema.maximumRoleCount {
                    throw error("a schema may declare at most \(PolicySchema.maximumRoleCount) roles", at: nameToken)
                }
                result.enumerations[enumName] = members
                enumTokens[enumName] = nameToken
            } else if keyword.isWord("attribute") {
                position += 1
                let path = try name("an attribute path such as context.purpose")
                try expectColon(after: "attribute \(path.word!)")
                var optional = false
                if current.isWord("optional") {
                    optional = true
                    position += 1
                }
                let type = try name("a type (string, bool, int, datetime or an enumeration name)")
                pending.append((path, optional, type))
            } else if keyword.isWord("reveals") {
                position += 1
                let action = try name("an action such as patron.read")
                try expectColon(after: "reveals \(action.word!)")
                var fields: [PolicyToken] = []
                repeat {
                    if current.isSymbol(.comma) { position += 1 }
                    let field = try name("a field name such as name or email.masked")
                    guard !fields.contains(where: { $0.word == field.word }) else {
                        throw error("reveals \(action.word!) lists \(field.word!) twice", at: field)
                    }
                    fields.append(field)
                } while current.isSymbol(.comma)
                pendingReveals.append((action, fields))
            } else {
                throw error("expected \"enum\", \"attribute\" or \"reveals\", found \(keyword.spelling)", at: keyword)
            }
        }
        let end = current
        for required in ["action", "role", "resource-kind"] where result.enumerations[required] == nil {
            throw error("the schema must declare enum \(required)", at: end)
        }
        let actions = result.enumerations["action"] ?? []
        for (actionToken, fieldTokens) in pendingReveals {
            let action = actionToken.word!
            guard actions.contains(action) else {
                throw error("unknown action \(action) in reveals; the schema's actions are \(actions.joined(separator: ", "))", at: actionToken)
            }
            guard result.reveals[action] == nil else {
                throw error("reveals \(action) is declared twice; list all its fields on one line", at: actionToken)
            }
            for token in fieldTokens where !result.fields.contains(token.word!) {
                guard result.fields.count < PolicySchema.maximumFieldCount else {
                    throw error("a schema may declare at most \(PolicySchema.maximumFieldCount) fields", at: token)
                }
                result.fields.append(token.word!)
            }
            result.reveals[action] = fieldTokens.map { $0.word! }
        }
        for (pathToken, optional, typeToken) in pending {
            let path = pathToken.word!
            guard let slot = AttributeSlot.byPath[path] else {
                let known = AttributeSlot.allCases.map(\.path).joined(separator: ", ")
                throw error("requests carry no attribute \(path); they carry \(known)", at: pathToken)
            }
            guard result.attributes[path] == nil else {
                throw error("the attribute \(path) is declared twice", at: pathToken)
            }
            let typeName = typeToken.word!
            let type: SchemaType
            switch typeName {
            case "string": type = .string
            case "bool": type = .bool
            case "int": type = .int
            case "datetime": type = .datetime
            default:
                guard result.enumerations[typeName] != nil else {
                    throw error("unknown type \(typeName); use string, bool, int, datetime or a declared enumeration", at: typeToken)
                }
                type = .enumeration(typeName)
            }
            let fits: Bool
            switch (slot.storage, type) {
            case (.string, .string), (.string, .enumeration), (.bool, .bool), (.datetime, .datetime): fits = true
            default: fits = false
            }
            guard fits else {
                let expected: String
                switch slot.storage {
                case .string: expected = "string or an enumeration"
                case .bool: expected = "bool"
                case .datetime: expected = "datetime"
                }
                throw error("\(path) cannot be \(typeName): requests carry it as \(expected)", at: typeToken)
            }
            if slot.mayBeAbsent && !optional {
                throw error("requests may leave out \(path), so declare it optional", at: typeToken)
            }
            result.attributes[path] = SchemaAttribute(slot: slot, type: type, optional: optional)
            result.order.append(path)
        }
        return result
    }
}
