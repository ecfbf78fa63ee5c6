/// Reads a `.policy` file into rules, checking every name and type against the schema.
///
/// ```
/// rule <id>
///   "<one-line description>"
///   permit | forbid
///   roles: <role>, ... | any
///   actions: <action>, ... | any
///   when: <condition>            (optional)
///   reveals: <field>, ...        (optional, permit rules only)
/// ```
/// Conditions: `or` < `and` < `not` < comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`,
/// `in [...]`, `not in [...]`); `has path` / `exists(path)`; parentheses; literals
/// `"text"`, `42`, `true`, `false`, `date("2025-06-01")`, `datetime("2025-06-01T09:00:00Z")`.
struct RuleParser {
    static let maximumDepth = 64

    private let source: PolicySource
    private let schema: PolicySchema
    private let tokens: [PolicyToken]
    /// The file's lines, split once: each rule keeps its own lines as its source text.
    private let lines: [Substring]
    private var position = 0
    private var depth = 0

    private init(source: PolicySource, schema: PolicySchema, tokens: [PolicyToken]) {
        self.source = source
        self.schema = schema
        self.tokens = tokens
        self.lines = String(decoding: source.bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    static func rules(in source: PolicySource, schema: PolicySchema) throws(PolicyLoadError) -> [PolicyRule] {
        var parser = RuleParser(source: source, schema: schema, tokens: try PolicyLexer.tokens(of: source))
        return try parser.parseFile()
    }

    // MARK: Tokens

    private var current: PolicyToken { tokens[position] }

    private func error(_ message: String, at token: PolicyToken) -> PolicyLoadError {
        PolicyLoadError(file: source.name, line: token.line, column: token.column, message: message)
    }

    private var atHeader: Bool {
        guard let word = current.word, ["roles", "actions", "when", "reveals"].contains(word) else { return false }
        return tokens[position + 1].isSymbol(.colon)
    }

    private mutating func expect(_ symbol: PolicyToken.Symbol, _ context: String) throws(PolicyLoadError) {
        guard current.isSymbol(symbol) else {
            throw error("expected \"\(symbol.rawValue)\" \(context), found \(current.spelling)", at: current)
        }
        position += 1
    }

    // MARK: Rules

    private mutating func parseFile() throws(PolicyLoadError) -> [PolicyRule] {
        var rules: [PolicyRule] = []
        while current.kind != .end {
            guard current.isWord("rule") else {
                throw error("expected \"rule\" to start a rule, found \(current.spelling)", at: current)
            }
            rules.append(try parseRule())
        }
        return rules
    }

    private mutating func parseRule() throws(PolicyLoadError) -> PolicyRule {
        let start = current
        position += 1
        guard let id = current.word, !Self.reserved.contains(id) else {
            throw error("expected a rule id after \"rule\", such as staff-lookup-with-purpose, found \(current.spelling)", at: current)
        }
        position += 1
        guard case .string(let description) = current.kind else {
            throw error("rule \(id) needs a one-line description in quotes, found \(current.spelling)", at: current)
        }
        guard !description.trimmingSpaces.isEmpty else {
            throw error("rule \(id) has an empty description", at: current)
        }
        position += 1
        let effect: PolicyEffect
        switch current.word {
        case "permit": effect = .permit
        case "forbid": effect = .forbid
        default: throw error("rule \(id) needs an effect, permit or forbid, found \(current.spelling)", at: current)
        }
        position += 1

        var roles: (names: [String]?, mask: UInt64)?
        var actions: (names: [String]?, indices: [Int]?)?
        var condition: Condition??
        var reveals: (header: PolicyToken, fields: [PolicyToken])?
        while current.kind != .end && !current.isWord("rule") {
            let header = current
            guard atHeader, let word = header.word else {
                throw error("expected roles:, actions:, when:, reveals: or the next rule, found \(header.spelling)", at: header)
            }
            position += 2
            switch word {
            case "roles":
                guard roles == nil else { throw error("rule \(id) has two roles: lines", at: header) }
                let names = try parseNames(kind: "role", known: schema.roleIndex, allowed: schema.roles)
                var mask: UInt64 = 0
                for name in names ?? [] { mask |= 1 << UInt64(schema.roleIndex[name]!) }
                roles = (names, mask)
            case "actions":
                guard actions == nil else { throw error("rule \(id) has two actions: lines", at: header) }
                let names = try parseNames(kind: "action", known: schema.actionIndex, allowed: schema.actions)
                actions = (names, names.map { $0.map { schema.actionIndex[$0]! } })
            case "reveals":
                guard reveals == nil else { throw error("rule \(id) has two reveals: lines", at: header) }
                guard effect == .permit else {
                    throw error("rule \(id) forbids, and a forbid shows nothing; reveals: belongs on permit rules", at: header)
                }
                reveals = (header, try parseFieldTokens())
            default:
                guard condition == nil else { throw error("rule \(id) has two when: lines; join them with and", at: header) }
                depth = 0
                condition = .some(try parseCondition())
            }
        }
        guard let roles else { throw error("rule \(id) names no roles; add a line such as \"roles: staff\" (or \"roles: any\")", at: start) }
        guard let actions else { throw error("rule \(id) names no actions; add a line such as \"actions: patron.read\" (or \"actions: any\")", at: start) }
        var rule = PolicyRule(
            id: id, description: description, effect: effect,
            roles: roles.names, roleMask: roles.mask, actions: actions.names, actionIndices: actions.indices,
            condition: condition ?? nil, file: source.name, line: start.line, column: start.column)
        if let reveals {
            let readable = (actions.indices ?? Array(schema.actions.indices)).reduce(RevealedFields.nothing) { $0.union(schema.actionFields[$1]) }
            for token in reveals.fields {
                let name = token.word!
                guard let field = schema.field(named: name) else {
                    throw error("unknown field \(name); the schema's fields are \(schema.fields.joined(separator: ", "))", at: token)
                }
                guard !readable.intersection(field).isEmpty else {
                    let readers = schema.actions.indices.filter { !schema.actionFields[$0].intersection(field).isEmpty }.map { schema.actions[$0] }
                    throw error(
                        "rule \(id) cannot reveal \(name): none of its actions shows it (the schema lists it under \(readers.joined(separator: ", ")))",
                        at: token)
                }
                rule.revealed = rule.revealed.union(field)
            }
            rule.reveals = reveals.fields.map { $0.word! }
        }
        rule.source = verbatim(fromLine: start.line, toBefore: current.kind == .end ? nil : current.line)
        return rule
    }

    /// Lines `first` up to (not including) `next`, or to the end, without the blank and comment
    /// lines that close the span (they belong to what follows).
    private func verbatim(fromLine first: Int, toBefore next: Int?) -> String {
        var span = Array(lines[min(first - 1, lines.count)..<min((next ?? lines.count + 1) - 1, lines.count)])
        while let last = span.last.map(String.init), last.trimmingSpaces.isEmpty || last.trimmingSpaces.hasPrefix("#") { span.removeLast() }
        return span.joined(separator: "\n")
    }

    /// A comma-separated list of field names, checked against the schema by the caller (it needs
    /// the rule's actions, which may come after).
    private mutating func parseFieldTokens() throws(PolicyLoadError) -> [PolicyToken] {
        var fields: [PolicyToken] = []
        repeat {
            if current.isSymbol(.comma) { position += 1 }
            guard let name = current.word else { throw error("expected a field name such as name or email.masked, found \(current.spelling)", at: current) }
            guard !fields.contains(where: { $0.word == name }) else { throw error("the field \(name) is listed twice", at: current) }
            fields.append(current)
            position += 1
        } while current.isSymbol(.comma)
        return fields
    }

    static let reserved: Set<String> = ["rule", "permit", "forbid", "roles", "actions", "when", "reveals", "and", "or", "not", "in", "has", "exists", "true", "false", "any"]

    /// A comma-separated list of schema names, or `any` (returned as nil).
    private mutating func parseNames(kind: String, known: [String: Int], allowed: [String]) throws(PolicyLoadError) -> [String]? {
        if current.isWord("any") {
            position += 1
            if current.isSymbol(.comma) { throw error("\"any\" already covers every \(kind); list nothing else", at: current) }
            return nil
        }
        var names: [String] = []
        repeat {
            if current.isSymbol(.comma) { position += 1 }
            guard let name = current.word else {
                throw error("expected a\(kind == "action" ? "n" : "") \(kind), found \(current.spelling)", at: current)
            }
            guard known[name] != nil else {
                throw error("unknown \(kind) \(name); the schema's \(kind)s are \(allowed.joined(separator: ", "))", at: current)
            }
            guard !names.contains(name) else { throw error("the \(kind) \(name) is listed twice", at: current) }
            names.append(name)
            position += 1
        } while current.isSymbol(.comma)
        return names
    }

    // MARK: Conditions

    /// A parsed piece of a condition: either already a condition, or a value (attribute or
    /// literal) with its type, waiting to be compared.
    private struct Expression {
        enum Shape {
            case condition(Condition)
            case value(Condition.Operand)
        }

        enum ValueType {
            case typed(SchemaType)
            /// A quoted literal: text, or a member of whichever enumeration it is compared with.
            case text(String)

            var phrase: String {
                switch self {
                case .typed(let type): type.phrase
                case .text: "text"
                }
            }

            var isText: Bool {
                if case .text = self { return true }
                return false
            }
        }

        let shape: Shape
        let type: ValueType
        let token: PolicyToken
        let spelling: String
    }

    private mutating func descend(_ token: PolicyToken) throws(PolicyLoadError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw error("the condition nests more than \(Self.maximumDepth) levels deep", at: token)
        }
    }

    private mutating func parseCondition() throws(PolicyLoadError) -> Condition {
        let start = current
        let expression = try parseOr()
        return try asCondition(expression, at: start)
    }

    private mutating func parseOr() throws(PolicyLoadError) -> Expression {
        let start = current
        let first = try parseAnd()
        guard current.isWord("or") else { return first }
        var terms = [try asCondition(first, at: start)]
        while current.isWord("or") {
            position += 1
            let next = current
            terms.append(try asCondition(try parseAnd(), at: next))
        }
        return Expression(shape: .condition(.any(terms)), type: .typed(.bool), token: start, spelling: "an or-condition")
    }

    private mutating func parseAnd() throws(PolicyLoadError) -> Expression {
        let start = current
        let first = try parseUnary()
        guard current.isWord("and") else { return first }
        var terms = [try asCondition(first, at: start)]
        while current.isWord("and") {
            position += 1
            let next = current
            terms.append(try asCondition(try parseUnary(), at: next))
        }
        return Expression(shape: .condition(.all(terms)), type: .typed(.bool), token: start, spelling: "an and-condition")
    }

    private mutating func parseUnary() throws(PolicyLoadError) -> Expression {
        let start = current
        guard start.isWord("not") else { return try parseComparison() }
        try descend(start)
        position += 1
        let operand = current
        let inner = try asCondition(try parseUnary(), at: operand)
        depth -= 1
        return Expression(shape: .condition(.not(inner)), type: .typed(.bool), token: start, spelling: "a not-condition")
    }

    private mutating func parseComparison() throws(PolicyLoadError) -> Expression {
        let left = try parsePrimary()
        let operatorToken = current
        if operatorToken.isWord("in") || (operatorToken.isWord("not") && tokens[position + 1].isWord("in")) {
            let negated = operatorToken.isWord("not")
            position += negated ? 2 : 1
            let operand = try asOperand(left, for: "in")
            let list = try parseList(matching: left)
            return Expression(shape: .condition(.member(operand, list, negated: negated)), type: .typed(.bool), token: left.token, spelling: "a comparison")
        }
        guard case .symbol(let symbol) = operatorToken.kind, let op = ComparisonOperator(rawValue: symbol.rawValue) else {
            return left
        }
        position += 1
        let right = try parsePrimary()
        let lhs = try asOperand(left, for: op.rawValue)
        let rhs = try asOperand(right, for: op.rawValue)
        try checkComparable(left, right, op: op, at: operatorToken)
        return Expression(shape: .condition(.compare(lhs, op, rhs)), type: .typed(.bool), token: left.token, spelling: "a comparison")
    }

    private mutating func parsePrimary() throws(PolicyLoadError) -> Expression {
        let token = current
        switch token.kind {
        case .symbol(.openParen):
            try descend(token)
            position += 1
            let inner = try parseOr()
            try expect(.closeParen, "to close the \"(\" at \(token.line):\(token.column)")
            depth -= 1
            return inner
        case .string(let text):
            position += 1
            return Expression(shape: .value(.constant(.string(text))), type: .text(text), token: token, spelling: "\"\(text)\"")
        case .integer(let value):
            position += 1
            return Expression(shape: .value(.constant(.int(value))), type: .typed(.int), token: token, spelling: "\(value)")
        case .word(let word):
            switch word {
            case "true", "false":
                position += 1
                return Expression(shape: .value(.constant(.bool(word == "true"))), type: .typed(.bool), token: token, spelling: word)
            case "date", "datetime":
                let value = try parseDateLiteral(word)
                return Expression(shape: .value(.constant(.time(value))), type: .typed(.datetime), token: token, spelling: "\(word)(...)")
            case "has":
                position += 1
                let slot = try parseAttribute(for: "has")
                return Expression(shape: .condition(.has(slot)), type: .typed(.bool), token: token, spelling: "has")
            case "exists":
                position += 1
                try expect(.openParen, "after exists")
                let slot = try parseAttribute(for: "exists")
                try expect(.closeParen, "to close exists(")
                return Expression(shape: .condition(.has(slot)), type: .typed(.bool), token: token, spelling: "exists(...)")
            default:
                guard !Self.reserved.contains(word) else {
                    throw error("expected an attribute or a value, found \(token.spelling)", at: token)
                }
                let attribute = try lookUp(token)
                position += 1
                return Expression(shape: .value(.attribute(attribute.slot)), type: .typed(attribute.type), token: token, spelling: word)
            }
        default:
            throw error("expected an attribute or a value, found \(token.spelling)", at: token)
        }
    }

    private func lookUp(_ token: PolicyToken) throws(PolicyLoadError) -> SchemaAttribute {
        let word = token.word ?? ""
        if let attribute = schema.attributes[word] { return attribute }
        if !word.contains(".") {
            throw error("unknown attribute \(word); write text in quotes, as \"\(word)\", or name an attribute such as context.purpose", at: token)
        }
        throw error("unknown attribute \(word); the schema declares \(schema.attributePaths.joined(separator: ", "))", at: token)
    }

    private mutating func parseAttribute(for what: String) throws(PolicyLoadError) -> AttributeSlot {
        let token = current
        guard token.word != nil, !Self.reserved.contains(token.word!) else {
            throw error("expected an attribute after \(what), found \(token.spelling)", at: token)
        }
        let attribute = try lookUp(token)
        position += 1
        return attribute.slot
    }

    private mutating func parseDateLiteral(_ word: String) throws(PolicyLoadError) -> Double {
        position += 1
        try expect(.openParen, "after \(word)")
        let token = current
        guard case .string(let text) = token.kind else {
            throw error("expected a quoted \(word) such as \(word == "date" ? "\"2025-06-01\"" : "\"2025-06-01T09:00:00Z\""), found \(token.spelling)", at: token)
        }
        let parsed = word == "date" ? Timestamp.parseDate(text) : Timestamp.parseDateTime(text)
        guard let seconds = parsed else {
            let shape = word == "date" ? "YYYY-MM-DD" : "YYYY-MM-DDThh:mm:ssZ (or with an offset such as +02:00)"
            throw error("\"\(text)\" is not a valid \(word); write \(shape)", at: token)
        }
        position += 1
        try expect(.closeParen, "to close \(word)(")
        return seconds
    }

    private mutating func parseList(matching left: Expression) throws(PolicyLoadError) -> [PolicyValue] {
        try expect(.openBracket, "after in")
        var values: [PolicyValue] = []
        while !current.isSymbol(.closeBracket) {
            if !values.isEmpty { try expect(.comma, "between list items") }
            let item = try parsePrimary()
            guard case .value(.constant(let value)) = item.shape else {
                throw error("a list holds values such as \"circulation\", not \(item.spelling)", at: item.token)
            }
            try checkComparable(left, item, op: .equal, at: item.token)
            values.append(value)
        }
        position += 1
        return values
    }

    private func asOperand(_ expression: Expression, for op: String) throws(PolicyLoadError) -> Condition.Operand {
        switch expression.shape {
        case .value(let operand): return operand
        case .condition: throw error("\(op) compares attributes and values, not conditions; use and, or, not to combine conditions", at: expression.token)
        }
    }

    private func asCondition(_ expression: Expression, at token: PolicyToken) throws(PolicyLoadError) -> Condition {
        switch expression.shape {
        case .condition(let condition):
            return condition
        case .value(.attribute(let slot)) where slot.storage == .bool:
            if case .typed(.bool) = expression.type { return .attribute(slot) }
        case .value(.constant(.bool(let value))):
            return .constant(value)
        default:
            break
        }
        throw error("\(expression.spelling) is \(expression.type.phrase), not a condition; compare it with ==, != or in", at: token)
    }

    /// Both sides must have the same type; a quoted literal fits text and, if it is one of the
    /// enumeration's members, that enumeration. Ordering needs numbers or dates.
    private func checkComparable(_ left: Expression, _ right: Expression, op: ComparisonOperator, at token: PolicyToken) throws(PolicyLoadError) {
        let mismatch = error("type mismatch: cannot compare \(left.spelling) (\(left.type.phrase)) with \(right.spelling) (\(right.type.phrase))", at: token)
        var common: SchemaType?
        switch (left.type, right.type) {
        case let (.typed(a), .typed(b)):
            guard a == b else { throw mismatch }
            common = a
        case let (.typed(type), .text(text)), let (.text(text), .typed(type)):
            let literal = left.type.isText ? left : right
            switch type {
            case .string:
                common = .string
            case .enumeration(let name):
                let members = schema.members(of: name)
                guard members.contains(text) else {
                    throw error("\"\(text)\" is not a \(name); the schema's \(name) values are \(members.joined(separator: ", "))", at: literal.token)
                }
                common = type
            default:
                throw mismatch
            }
        case (.text, .text):
            common = .string
        }
        if op.orders, common != .int, common != .datetime {
            throw error("\(op.rawValue) orders numbers and dates, not \(left.type.phrase)", at: token)
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var text = self[...]
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}
