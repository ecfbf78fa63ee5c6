/// Reads `retention.schedule` with the policy files' lexer, so quoting, comments and error
/// locations work the same way.
struct RetentionParser {
    private let source: PolicySource
    private let tokens: [PolicyToken]
    private var position = 0

    private init(source: PolicySource, tokens: [PolicyToken]) {
        self.source = source
        self.tokens = tokens
    }

    static func rules(in source: PolicySource) throws(PolicyLoadError) -> [RetentionRule] {
        var parser = RetentionParser(source: source, tokens: try PolicyLexer.tokens(of: source))
        return try parser.parseFile()
    }

    private var current: PolicyToken { tokens[position] }

    private func error(_ message: String, at token: PolicyToken) -> PolicyLoadError {
        PolicyLoadError(file: source.name, line: token.line, column: token.column, message: message)
    }

    private mutating func parseFile() throws(PolicyLoadError) -> [RetentionRule] {
        var rules: [RetentionRule] = []
        while current.kind != .end {
            guard current.isWord("retain") else {
                throw error("expected \"retain\" to start a retention rule, found \(current.spelling)", at: current)
            }
            let rule = try parseRule()
            if let earlier = rules.first(where: { $0.id == rule.id }) {
                throw PolicyLoadError(
                    file: rule.file, line: rule.line, column: rule.column,
                    message: "duplicate rule id \(rule.id); it is already used at \(earlier.file):\(earlier.line):\(earlier.column)")
            }
            if let earlier = rules.first(where: { $0.records == rule.records }) {
                throw PolicyLoadError(
                    file: rule.file, line: rule.line, column: rule.column,
                    message: "rule \(rule.id) governs \(rule.records.rawValue), which rule \(earlier.id) at \(earlier.file):\(earlier.line):\(earlier.column) already governs; keep one")
            }
            rules.append(rule)
        }
        return rules
    }

    private mutating func parseRule() throws(PolicyLoadError) -> RetentionRule {
        let start = current
        position += 1
        guard let id = current.word, !["retain", "records", "after"].contains(id) else {
            throw error("expected a rule id after \"retain\", such as kept-history, found \(current.spelling)", at: current)
        }
        position += 1
        guard case .string(let description) = current.kind else {
            throw error("retention rule \(id) needs a one-line description in quotes, found \(current.spelling)", at: current)
        }
        guard !description.trimmingSpaces.isEmpty else { throw error("retention rule \(id) has an empty description", at: current) }
        position += 1

        var records: RetentionRule.Records?
        var period: RetentionPeriod?
        while current.kind != .end && !current.isWord("retain") {
            let header = current
            guard let word = header.word, ["records", "after"].contains(word), tokens[position + 1].isSymbol(.colon) else {
                throw error("expected records:, after: or the next rule, found \(header.spelling)", at: header)
            }
            position += 2
            if word == "records" {
                guard records == nil else { throw error("retention rule \(id) has two records: lines", at: header) }
                guard let name = current.word, let kind = RetentionRule.Records(rawValue: name) else {
                    let known = RetentionRule.Records.allCases.map(\.rawValue).joined(separator: ", ")
                    throw error("unknown kind of records \(current.spelling); a schedule governs \(known)", at: current)
                }
                records = kind
                position += 1
            } else {
                guard period == nil else { throw error("retention rule \(id) has two after: lines", at: header) }
                period = try parsePeriod(rule: id)
            }
        }
        guard let records else { throw error("retention rule \(id) names no records; add a line such as \"records: history\"", at: start) }
        guard let period else { throw error("retention rule \(id) gives no period; add a line such as \"after: 3 years\"", at: start) }
        return RetentionRule(
            id: id, description: description, records: records, period: period, file: source.name, line: start.line, column: start.column)
    }

    private mutating func parsePeriod(rule id: String) throws(PolicyLoadError) -> RetentionPeriod {
        let number = current
        if number.isSymbol(.minus) {
            throw error("retention rule \(id) has a negative period; give a whole number of days, months or years from 1", at: number)
        }
        guard case .integer(let count) = number.kind else {
            throw error("expected a whole number such as 3 after \"after:\", found \(number.spelling)", at: number)
        }
        position += 1
        guard let word = current.word, let unit = RetentionPeriod.Unit(rawValue: word.hasSuffix("s") ? word : word + "s") else {
            throw error("expected days, months or years after the number, found \(current.spelling)", at: current)
        }
        guard count >= 1 else {
            throw error("retention rule \(id) has a period of 0 \(unit.rawValue); the shortest is 1", at: number)
        }
        guard count <= unit.maximum else {
            throw error("retention rule \(id) keeps records for \(count) \(unit.rawValue), more than a hundred years; the most is \(unit.maximum) \(unit.rawValue)", at: number)
        }
        position += 1
        return RetentionPeriod(count: count, unit: unit)
    }
}
