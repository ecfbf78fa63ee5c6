import Foundation

/// The notice as plain text, Markdown and a standalone HTML page: one outline, three spellings.
/// The outline is built once from the notice, so the three always say the same thing.
extension PrivacyNotice {
    /// One section: a heading, paragraphs, and a list whose items may carry a quoted rule.
    struct Section {
        let heading: String
        var paragraphs: [String] = []
        var items: [Item] = []
        /// Quoted rule text, shown as a preformatted block.
        var blocks: [String] = []
    }

    struct Item {
        let text: String
        /// The rule's own words and id, shown after the item.
        var quote: (description: String, rule: String)?
    }

    static func roles(_ roles: [String]) -> String {
        let words = roles.map { role -> String in
            switch role {
            case "any": "anyone"
            case "staff": "staff"
            case "admin": "admins"
            case "privacy-officer": "privacy officers"
            case "patron": "you"
            default: role
            }
        }
        return list(words)
    }

    /// "a, b and c".
    public static func list(_ words: [String]) -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " and " + words.last!
    }

    var outline: [Section] {
        var sections: [Section] = []
        sections.append(Section(
            heading: "What the vault keeps about you",
            paragraphs: ["Your registration: \(Self.list(stored.registration)).", "Also:", ],
            items: stored.kept.map { Item(text: $0) }))
        sections.append(Section(heading: "What is never in the vault's files in the clear", paragraphs: [stored.neverInTheClear]))

        var seeing = Section(heading: "Who sees what, and why")
        seeing.paragraphs.append("Each rule below says what staff see when it applies; when several apply, they see what those rules reveal together. Every look is recorded, with the names of the fields it showed.")
        for view in views {
            let purpose = view.purposes.map { "For \(Self.list($0))" } ?? "When the rule's condition holds"
            let sees = view.sees.isEmpty ? "nothing about you" : Self.list(view.sees)
            seeing.items.append(Item(text: "\(purpose), \(Self.roles(view.roles)) see: \(sees).", quote: (view.description, view.rule)))
        }
        sections.append(seeing)

        var never = Section(heading: "What the rules never allow")
        never.paragraphs.append("These rules refuse a request whatever else allows it.")
        never.items = neverSeen.map { Item(text: "Binding \(Self.roles($0.roles)).", quote: ($0.description, $0.rule)) }
        sections.append(never)

        if !otherPermissions.isEmpty {
            var other = Section(heading: "What staff and administrators may do")
            other.items = otherPermissions.map { Item(text: "\(Self.roles($0.roles).prefix(1).uppercased() + Self.roles($0.roles).dropFirst()).", quote: ($0.description, $0.rule)) }
            sections.append(other)
        }

        var kept = Section(heading: "How long records are kept")
        kept.items = retention.map { Item(text: $0.sentence, quote: ($0.description, $0.rule)) }
        kept.items += notGoverned.map { Item(text: $0 + ".") }
        kept.paragraphs.append(statistics)
        sections.append(kept)

        var yours = Section(heading: "Your rights, and how to use them")
        yours.paragraphs.append("Sign in with your card and PIN.")
        yours.items = rights.map { Item(text: "\($0.right): \($0.how).") }
        yours.items += rightsRules.map { Item(text: "The rule that grants them.", quote: ($0.description, $0.rule)) }
        sections.append(yours)

        var legal = Section(heading: "Legal orders")
        legal.paragraphs = legalOrders.process
        legal.items = legalOrders.statements.map { Item(text: "\(Self.roles($0.roles).prefix(1).uppercased() + Self.roles($0.roles).dropFirst()).", quote: ($0.description, $0.rule)) }
        sections.append(legal)

        if !verbatim.isEmpty {
            var quoted = Section(heading: "Rules this notice quotes as written")
            quoted.paragraphs.append("The notice cannot put these rules in words of its own, so here they are as the library wrote them.")
            quoted.blocks = verbatim.map { "# \($0.file), line \($0.line)\n\($0.text)" }
            sections.append(quoted)
        }

        sections.append(Section(
            heading: "Which rules this is",
            paragraphs: [
                "Generated on \(generated) from the rules in force, policy digest \(policyDigest).",
                "Every entry in the vault's audit trail carries the digest of the rules that decided it, so this notice can be tied to each access it describes.",
            ]))
        return sections
    }

    /// Plain text, wrapped by the reader's terminal.
    public var text: String {
        var out = title.uppercased() + "\n"
        for section in outline {
            out += "\n" + section.heading + "\n" + String(repeating: "-", count: section.heading.count) + "\n"
            for paragraph in section.paragraphs { out += paragraph + "\n" }
            for item in section.items {
                out += "  - " + item.text
                if let quote = item.quote { out += " \"\(quote.description)\" (\(quote.rule))" }
                out += "\n"
            }
            for block in section.blocks { out += block.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n") + "\n" }
        }
        return out
    }

    public var markdown: String {
        var out = "# \(Self.markdownEscaped(title))\n"
        for section in outline {
            out += "\n## \(section.heading)\n\n"
            for paragraph in section.paragraphs { out += Self.markdownEscaped(paragraph) + "\n\n" }
            for item in section.items {
                out += "- " + Self.markdownEscaped(item.text)
                if let quote = item.quote { out += " “\(Self.markdownEscaped(quote.description))” (`\(quote.rule)`)" }
                out += "\n"
            }
            if !section.items.isEmpty { out += "\n" }
            // Indented, not fenced: a rule's text cannot close an indented block.
            for block in section.blocks { out += block.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n") + "\n\n" }
        }
        return out
    }

    /// A standalone page: one `main` landmark, a heading outline, lists, no script.
    public var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTMLText.escaped(title))</title>
        <style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}q{font-style:italic}pre{white-space:pre-wrap;background:#f3f3f3;padding:.5rem}code{font-size:.95em}</style>
        </head>
        <body>
        <main>
        \(htmlBody)</main>
        </body>
        </html>

        """
    }

    /// The page's content, from its `h1` on, every text escaped: what a server puts inside its
    /// own page.
    public var htmlBody: String {
        var out = "<h1>\(HTMLText.escaped(title))</h1>\n"
        for (index, section) in outline.enumerated() {
            out += "<section aria-labelledby=\"s\(index)\"><h2 id=\"s\(index)\">\(HTMLText.escaped(section.heading))</h2>\n"
            for paragraph in section.paragraphs { out += "<p>\(HTMLText.escaped(paragraph))</p>\n" }
            if !section.items.isEmpty {
                out += "<ul>\n"
                for item in section.items {
                    out += "<li>\(HTMLText.escaped(item.text))"
                    if let quote = item.quote { out += " <q>\(HTMLText.escaped(quote.description))</q> (<code>\(HTMLText.escaped(quote.rule))</code>)" }
                    out += "</li>\n"
                }
                out += "</ul>\n"
            }
            for block in section.blocks { out += "<pre>\(HTMLText.escaped(block))</pre>\n" }
            out += "</section>\n"
        }
        return out
    }

    /// Backslash before the characters Markdown would read as markup, so a rule's words stay words.
    static func markdownEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "&" {
                out += "&amp;"
                continue
            }
            if "\\`*_{}[]<>#|".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
