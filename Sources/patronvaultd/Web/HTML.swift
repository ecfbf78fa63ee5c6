import PatronVaultCore

/// Markup built by string interpolation in which every interpolated `String` is escaped and only
/// other `HTML` values go in as they are, so a patron's name or a title can never become markup.
struct HTML: Sendable, ExpressibleByStringInterpolation {
    private(set) var markup: String

    init(stringLiteral value: String) {
        markup = value
    }

    init(stringInterpolation: Interpolation) {
        markup = stringInterpolation.markup
    }

    /// Markup a renderer has already escaped (the core's privacy notice escapes every text it
    /// writes); nothing a person typed reaches it unescaped.
    init(escapedMarkup: String) {
        markup = escapedMarkup
    }

    struct Interpolation: StringInterpolationProtocol {
        var markup = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            markup.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        mutating func appendLiteral(_ literal: String) {
            markup += literal
        }

        mutating func appendInterpolation(_ text: String) {
            markup += HTML.escape(text)
        }

        mutating func appendInterpolation(_ number: Int) {
            markup += String(number)
        }

        mutating func appendInterpolation(_ html: HTML) {
            markup += html.markup
        }

        mutating func appendInterpolation(_ parts: [HTML]) {
            for part in parts { markup += part.markup }
        }
    }

    /// Escapes the five characters that can end text or an attribute value.
    static func escape(_ text: String) -> String {
        HTMLText.escaped(text)
    }
}
