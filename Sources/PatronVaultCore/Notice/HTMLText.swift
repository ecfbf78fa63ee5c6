/// Text made safe to place in HTML, as text or in a quoted attribute: the one escaper the
/// notice's page and the daemon's pages share, so no page escapes differently.
public enum HTMLText {
    /// Escapes the five characters that can end text or an attribute value.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
