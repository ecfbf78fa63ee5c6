import ArgumentParser
import Foundation
import PatronVaultCore

/// Output and failure reporting: results on stdout as text or JSON, failures as one line on
/// stderr with the vault's exit code for that kind of failure.
enum Terminal {
    static func report<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as VaultError {
            FileHandle.standardError.write(Data("patronvault: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        } catch let error as ValidationError {
            FileHandle.standardError.write(Data("patronvault: \(error.message)\n".utf8))
            throw ExitCode.validationFailure
        }
    }

    static func line(_ text: String) {
        print(text)
    }

    static func json(_ value: Any) {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
        print(String(decoding: data, as: UTF8.self))
    }

    static func time(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

extension CalendarDay {
    /// Parses an option value, naming the option (never the value) when it is malformed.
    static func option(_ text: String?, name: String) throws -> CalendarDay? {
        guard let text else { return nil }
        return try CalendarDay(parsing: text, field: name)
    }
}
