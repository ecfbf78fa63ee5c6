import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultCrypto

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Check a patron's export bundle, and print the public key it is checked with.",
        subcommands: [Key.self, Verify.self])

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the vault's public export key (hex), which a patron checks an export bundle with; public, no token needed.")
        @OptionGroup var options: VaultOptions

        func run() async throws {
            try await Terminal.report {
                let key = try await options.withVault { vault in vault.exportVerifyingKey }
                let hex = key.bytes.map { String(format: "%02x", $0) }.joined()
                if options.json { try Terminal.json(["exportKey": hex]) } else { Terminal.line(hex) }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an export bundle: its signature, every file's hash, and that no record of the patron was left out.")
        @OptionGroup var options: VaultOptions
        @Argument(help: "The bundle's folder.") var directory: String
        @Option(name: .long, help: "The public export key in hex (from 'patronvault export key'); without it, the vault's own is used.")
        var exportKey: String?

        func run() async throws {
            try await Terminal.report {
                let key: VerifyingKey
                if let exportKey {
                    guard let bytes = Self.hexBytes(exportKey), let parsed = try? VerifyingKey(bytes: bytes) else {
                        throw ValidationError("--export-key must be 64 hex digits")
                    }
                    key = parsed
                } else {
                    key = try await options.withVault { vault in vault.exportVerifyingKey }
                }
                let verified = try ExportBundleVerifier.verify(directory: URL(fileURLWithPath: directory, isDirectory: true), key: key)
                if options.json {
                    try Terminal.json(verified)
                } else {
                    Terminal.line("Export bundle verified: \(verified.files) files match the signed manifest; all \(verified.records) records in the patron's record set are present (\(verified.auditEntries) audit entries).")
                }
            }
        }

        static func hexBytes(_ text: String) -> [UInt8]? {
            let digits = Array(text.utf8)
            guard digits.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            for index in stride(from: 0, to: digits.count, by: 2) {
                guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
                out.append(byte)
            }
            return out
        }
    }
}
