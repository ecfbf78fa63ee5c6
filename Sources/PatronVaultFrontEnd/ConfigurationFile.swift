import ArgumentParser
import Foundation

/// A front end's settings in a file (`--config FILE`): one `name = value` a line, `#` comments,
/// values bare (`8470`, `true`, `/var/lib/patronvault`) or in double quotes. Each name is one of
/// the front end's long options, so the file says what the command line would; an option given
/// on the command line wins over the file. A mistake is reported as `FILE:LINE: what is wrong`.
/// Secrets never belong here: tokens, PINs and passphrases come from their own files or the
/// environment.
public struct ConfigurationFile: Sendable {
    public struct Setting: Sendable, Equatable {
        public let name: String
        public let value: String
        public let line: Int
        /// A flag's value is `true` or `false`; any other setting's value is passed as it is.
        public let isFlag: Bool
    }

    public let path: String
    public let settings: [Setting]

    /// What only the daemon reads: the CLI accepts a daemon's file and leaves these to it.
    public static let daemonSettings: Set<String> = [
        "host", "port", "socket", "tls-certificate", "tls-key", "idle-timeout", "session-idle", "audit-check-interval",
    ]
    public static let daemonFlags: Set<String> = ["insecure-bind"]

    /// Reads and checks the file: every name must be in `known` (a flag's value must be `true`
    /// or `false`), and a file that group or others may write is refused, since it decides which
    /// key file and vault the process opens.
    public init(path: String, known options: Set<String>, flags: Set<String>) throws {
        let file = try CheckedFile(path: path, what: "the configuration file")
        let data = file.data
        guard file.mode & 0o022 == 0 else {
            throw ValidationError("the configuration file \(path) can be changed by group or others (mode \(file.octalMode)); run chmod go-w on it")
        }
        guard file.owner == getuid() || file.owner == 0 else {
            throw ValidationError("the configuration file \(path) belongs to another user; it must be the daemon's user's or root's")
        }
        guard let text = String(validating: data, as: UTF8.self) else { throw ValidationError("\(path): the file is not UTF-8 text") }
        self.path = path
        var settings: [Setting] = []
        var seen: Set<String> = []
        // Any line ending (a file saved on Windows ends lines with CR LF) separates lines.
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw ValidationError("\(path):\(number): expected name = value") }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard options.contains(name) || flags.contains(name) else {
                throw ValidationError("\(path):\(number): unknown setting '\(name)' (known: \(options.union(flags).sorted().joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw ValidationError("\(path):\(number): '\(name)' is set twice") }
            let value = try Self.value(line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces), at: "\(path):\(number)")
            if flags.contains(name), value != "true", value != "false" {
                throw ValidationError("\(path):\(number): '\(name)' is true or false")
            }
            settings.append(Setting(name: name, value: value, line: number, isFlag: flags.contains(name)))
        }
        self.settings = settings
    }

    /// The settings as the arguments they stand for, to go before the command line's own (where
    /// a repeated option's last value wins). A flag set to false adds nothing.
    public var arguments: [String] {
        settings.flatMap { setting -> [String] in
            guard setting.isFlag else { return ["--\(setting.name)", setting.value] }
            return setting.value == "true" ? ["--\(setting.name)"] : []
        }
    }

    /// The command line with `--config FILE`'s settings put in front; unchanged without one.
    public static func expand(_ arguments: [String], known options: Set<String>, flags: Set<String>) throws -> [String] {
        var path: String?
        for (index, argument) in arguments.enumerated() {
            if argument == "--config", index + 1 < arguments.count { path = arguments[index + 1] }
            if argument.hasPrefix("--config=") { path = String(argument.dropFirst("--config=".count)) }
        }
        guard let path else { return arguments }
        return try ConfigurationFile(path: path, known: options, flags: flags).arguments + arguments
    }

    private static func value(_ text: String, at place: String) throws -> String {
        guard text.hasPrefix("\"") else {
            // A comment after a bare value starts at a # after a space; a # inside a value (a
            // path such as /srv/pv#2) stays part of it.
            let bare = (text.range(of: " #").map { String(text[..<$0.lowerBound]) } ?? text).trimmingCharacters(in: .whitespaces)
            guard !bare.isEmpty, !bare.contains(" "), !bare.hasPrefix("#") else {
                throw ValidationError("\(place): a value is missing, or has spaces and goes in double quotes")
            }
            return bare
        }
        var out = ""
        var escaped = false
        for (offset, character) in text.dropFirst().enumerated() {
            if escaped {
                out.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                let rest = text.dropFirst(offset + 2).trimmingCharacters(in: .whitespaces)
                guard rest.isEmpty || rest.hasPrefix("#") else { throw ValidationError("\(place): unexpected text after the closing quote") }
                return out
            } else {
                out.append(character)
            }
        }
        throw ValidationError("\(place): the quoted value is not closed")
    }
}
