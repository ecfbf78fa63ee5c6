/// Splits a checked source into tokens. Everything outside quoted text and `#` comments is
/// ASCII, so the lexer walks bytes and counts columns in Unicode scalars as it goes.
struct PolicyLexer {
    private let source: PolicySource
    private var index = 0
    private var line = 1
    private var column = 1

    private init(_ source: PolicySource) {
        self.source = source
    }

    static func tokens(of source: PolicySource) throws(PolicyLoadError) -> [PolicyToken] {
        var lexer = PolicyLexer(source)
        return try lexer.run()
    }

    private var bytes: [UInt8] { source.bytes }

    private func error(_ message: String, line: Int? = nil, column: Int? = nil) -> PolicyLoadError {
        PolicyLoadError(file: source.name, line: line ?? self.line, column: column ?? self.column, message: message)
    }

    private mutating func advance() {
        PolicySource.step(over: bytes[index], line: &line, column: &column)
        index += 1
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func run() throws(PolicyLoadError) -> [PolicyToken] {
        var tokens: [PolicyToken] = []
        while let byte = peek() {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                advance()
            case UInt8(ascii: "#"):
                while let next = peek(), next != 0x0A { advance() }
            case UInt8(ascii: "\""):
                tokens.append(try string())
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                tokens.append(try integer())
            case _ where Self.startsWord(byte):
                tokens.append(word())
            default:
                tokens.append(try symbol(byte))
            }
        }
        tokens.append(PolicyToken(kind: .end, line: line, column: column))
        return tokens
    }

    static func startsWord(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
    }

    static func continuesWord(_ byte: UInt8) -> Bool {
        startsWord(byte) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    private mutating func word() -> PolicyToken {
        let (startLine, startColumn, start) = (line, column, index)
        while let byte = peek(), Self.continuesWord(byte) { advance() }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        return PolicyToken(kind: .word(text), line: startLine, column: startColumn)
    }

    private mutating func integer() throws(PolicyLoadError) -> PolicyToken {
        let (startLine, startColumn) = (line, column)
        var value = 0
        while let byte = peek(), byte >= 0x30 && byte <= 0x39 {
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(Int(byte - 0x30))
            if overflowA || overflowB {
                throw error("the number is too large", line: startLine, column: startColumn)
            }
            value = sum
            advance()
        }
        if let byte = peek(), Self.startsWord(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") {
            throw error("a number must not run into letters or punctuation; write dates as date(\"2025-06-01\")", line: startLine, column: startColumn)
        }
        return PolicyToken(kind: .integer(value), line: startLine, column: startColumn)
    }

    private mutating func string() throws(PolicyLoadError) -> PolicyToken {
        let (startLine, startColumn) = (line, column)
        advance()
        var content: [UInt8] = []
        while true {
            guard let byte = peek(), byte != 0x0A else {
                throw error("this quoted text is not closed on its line", line: startLine, column: startColumn)
            }
            if byte == UInt8(ascii: "\"") {
                advance()
                break
            }
            if byte == UInt8(ascii: "\\") {
                advance()
                guard let escaped = peek(), escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") else {
                    throw error("inside quotes only \\\" and \\\\ may follow a backslash")
                }
                content.append(escaped)
                advance()
                continue
            }
            if byte < 0x20 && byte != 0x09 || byte == 0x7F {
                throw error("quoted text must not contain control characters")
            }
            content.append(byte)
            advance()
        }
        return PolicyToken(kind: .string(String(decoding: content, as: UTF8.self)), line: startLine, column: startColumn)
    }

    private mutating func symbol(_ byte: UInt8) throws(PolicyLoadError) -> PolicyToken {
        let (startLine, startColumn) = (line, column)
        let next = peek(1)
        let symbol: PolicyToken.Symbol
        var width = 1
        switch byte {
        case UInt8(ascii: ":"): symbol = .colon
        case UInt8(ascii: ","): symbol = .comma
        case UInt8(ascii: "("): symbol = .openParen
        case UInt8(ascii: ")"): symbol = .closeParen
        case UInt8(ascii: "["): symbol = .openBracket
        case UInt8(ascii: "]"): symbol = .closeBracket
        case UInt8(ascii: "=") where next == UInt8(ascii: "="): symbol = .equal; width = 2
        case UInt8(ascii: "!") where next == UInt8(ascii: "="): symbol = .notEqual; width = 2
        case UInt8(ascii: "<") where next == UInt8(ascii: "="): symbol = .lessOrEqual; width = 2
        case UInt8(ascii: ">") where next == UInt8(ascii: "="): symbol = .greaterOrEqual; width = 2
        case UInt8(ascii: "-"): symbol = .minus
        case UInt8(ascii: "<"): symbol = .less
        case UInt8(ascii: ">"): symbol = .greater
        case UInt8(ascii: "="):
            throw error("a single \"=\" is not an operator; compare with \"==\"")
        default:
            throw error("unexpected character \(describe(byte))")
        }
        for _ in 0..<width { advance() }
        return PolicyToken(kind: .symbol(symbol), line: startLine, column: startColumn)
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F {
            return "\"\(Character(Unicode.Scalar(byte)))\""
        }
        if byte < 0x80 {
            return "U+\(codePoint(UInt32(byte)))"
        }
        var end = index + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        let scalar = String(decoding: bytes[index..<end], as: UTF8.self).unicodeScalars.first?.value ?? 0xFFFD
        return "U+\(codePoint(scalar))"
    }
}

/// Hex with at least four digits, as Unicode code points are written.
private func codePoint(_ value: UInt32) -> String {
    let hex = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
}
