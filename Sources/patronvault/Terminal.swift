import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

/// Output and failure reporting: results on stdout as text or JSON, failures as one line on
/// stderr with the CLI's exit code for that kind of failure.
enum Terminal {
    static func report<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw failure(for: error)
        }
    }

    /// The same as `report`, for commands that await the vault.
    static func report<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw failure(for: error)
        }
    }

    /// Prints the one line a failure gets and returns the exit to throw; errors that are already
    /// an exit (or unknown to the CLI) pass through untouched.
    private static func failure(for error: any Error) -> any Error {
        switch error {
        case let error as VaultError:
            let hint = error.kind.hint.map { "; \($0)" } ?? ""
            return fail("\(error.message)\(hint)", code: error.kind.exitCode)
        case let error as CommandFailure:
            return fail(error.message, code: error.kind.exitCode)
        case let error as ValidationError:
            // A value the command read and refused is bad input, as the core's own refusals are;
            // 64 stays the argument parser's, for an unknown or missing option.
            return fail(error.message, code: VaultError.Kind.invalidInput.exitCode)
        case let error as DamagedArchive:
            return fail(error.description, code: VaultError.Kind.integrityFailure.exitCode)
        case is EncodingError:
            return fail("the result could not be written as JSON", code: ExitCode.failure.rawValue)
        default:
            return error
        }
    }

    private static func fail(_ message: String, code: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("patronvault: \(message)\n".utf8))
        return ExitCode(code)
    }

    static func line(_ text: String) {
        print(text)
    }

    /// Text that already ends its own lines.
    static func write(_ text: String) {
        print(text, terminator: "")
    }

    /// One JSON object on one line, keys sorted, so output diffs cleanly and scripts can rely on it.
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Refuses an irreversible step the user has not confirmed with `--yes`, saying what it does.
    static func requireConfirmation(_ confirmed: Bool, _ consequence: String) throws {
        guard confirmed else {
            throw CommandFailure(.invalidInput, "\(consequence) and cannot be undone; run again with --yes to confirm")
        }
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
