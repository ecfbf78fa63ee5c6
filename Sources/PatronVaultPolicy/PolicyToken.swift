/// One lexical unit of a schema or policy file, with where it starts.
struct PolicyToken: Sendable {
    enum Kind: Sendable, Equatable {
        /// Names, keywords, attribute paths, actions and roles: letters, digits, `_`, `-`, `.`.
        case word(String)
        case string(String)
        case integer(Int)
        case symbol(Symbol)
        case end
    }

    enum Symbol: String, Sendable {
        case colon = ":"
        case comma = ","
        case openParen = "("
        case closeParen = ")"
        case openBracket = "["
        case closeBracket = "]"
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
        /// Only so a negative number gets a sentence of its own; no rule syntax uses it.
        case minus = "-"
    }

    let kind: Kind
    let line: Int
    let column: Int

    var word: String? {
        if case .word(let text) = kind { return text }
        return nil
    }

    func isWord(_ text: String) -> Bool { word == text }

    func isSymbol(_ symbol: Symbol) -> Bool { kind == .symbol(symbol) }

    /// How the token reads in an error message.
    var spelling: String {
        switch kind {
        case .word(let text): "\"\(text)\""
        case .string(let text): "the text \"\(text)\""
        case .integer(let value): "the number \(value)"
        case .symbol(let symbol): "\"\(symbol.rawValue)\""
        case .end: "the end of the file"
        }
    }
}
