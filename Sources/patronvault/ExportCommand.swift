import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultCrypto

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Check a patron's export bundle, and print the public key it is checked with.",
        subcommands: [Key.self, Verify.self, Open.self, VerifyReceipt.self])

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "key",
            abstract: "Print the vault's public export key (hex), which a patron checks an export bundle with; public, no token needed.")
        @OptionGroup var options: VaultOptions

        func run() async throws {
            try await Terminal.report {
                let key = try await options.withVault { vault in vault.exportVerifyingKey }
                if options.json { try Terminal.json(["exportKey": key.hex]) } else { Terminal.line(key.hex) }
            }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "open",
            abstract: "Open a sealed export with your PIN into a new folder; then check it with 'export verify'. Needs no vault.")
        @Argument(help: "The sealed file staff gave you.") var file: String
        @Option(name: .long, help: "A folder that does not exist yet, or is empty.") var out: String
        @Flag(name: .long, help: "Read your PIN from standard input (else $PATRONVAULT_PIN).") var pinStdin = false
        @Flag(name: .long, help: "Print the result as JSON.") var json = false

        func run() async throws {
            try await Terminal.report {
                let target = URL(fileURLWithPath: out, isDirectory: true)
                try ExportBundle.checkTarget(target)
                guard let sealed = FileManager.default.contents(atPath: file) else {
                    throw CommandFailure(.notFound, "the sealed export \(file) cannot be read")
                }
                let bundle = try SealedExport.open(Array(sealed), pin: try PIN.read(fromStdin: pinStdin))
                try bundle.write(to: target)
                if json {
                    try Terminal.json(["out": target.path, "exportKey": bundle.manifest.exportKey])
                } else {
                    Terminal.line("Your data is in \(target.path). Check it with: patronvault export verify \(target.path) --export-key KEY")
                    Terminal.line("(the library publishes KEY; the bundle names \(bundle.manifest.exportKey), which proves nothing on its own)")
                }
            }
        }
    }

    struct VerifyReceipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-receipt",
            abstract: "Check an erasure receipt saved from 'me erase --json': its hash and the vault's signature.")
        @OptionGroup var options: VaultOptions
        @Argument(help: "The receipt file.") var file: String
        @Option(name: .long, help: "The public export key in hex; without it, the vault's own is used.") var exportKey: String?

        func run() async throws {
            try await Terminal.report {
                guard let receipt = FileManager.default.contents(atPath: file) else {
                    throw CommandFailure(.notFound, "the receipt \(file) cannot be read")
                }
                let keys = try await Verify.keys(exportKey, options: options)
                try Verify.firstPassing(keys) { key in try ErasureReceipt.verify(json: Array(receipt), key: key) }
                if options.json { try Terminal.json(["verified": true]) } else { Terminal.line("Erasure receipt verified: signed by this export key, unchanged.") }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify",
            abstract: "Check an export bundle: its signature, every file's hash, and that no record of the patron was left out.")
        @OptionGroup var options: VaultOptions
        @Argument(help: "The bundle's folder.") var directory: String
        @Option(name: .long, help: "The public export key in hex (from 'patronvault export key'); without it, the vault's own is used.")
        var exportKey: String?

        func run() async throws {
            try await Terminal.report {
                let keys = try await Self.keys(exportKey, options: options)
                let verified = try Self.firstPassing(keys) { key in try ExportBundleVerifier.verify(directory: URL(fileURLWithPath: directory, isDirectory: true), key: key) }
                if options.json {
                    try Terminal.json(verified)
                } else {
                    Terminal.line("Export bundle verified: \(verified.files) files match the signed manifest; all \(verified.records) records in the patron's record set are present (\(verified.auditEntries) audit entries).")
                }
            }
        }

        /// The key given in hex, or the vault's own: its current export key, then those retired
        /// by signing-key rotations, so what was signed before a rotation still verifies.
        static func keys(_ hex: String?, options: VaultOptions) async throws -> [VerifyingKey] {
            guard let hex else { return try await options.withVault { vault in vault.exportVerifyingKeys } }
            guard let parsed = try? VerifyingKey(hex: hex) else {
                throw ValidationError("--export-key must be 64 hex digits")
            }
            return [parsed]
        }

        /// `check` with the first key it passes with; when none does, the current key's failure.
        static func firstPassing<T>(_ keys: [VerifyingKey], _ check: (VerifyingKey) throws -> T) throws -> T {
            var firstFailure: (any Error)?
            for key in keys {
                do { return try check(key) } catch { firstFailure = firstFailure ?? error }
            }
            throw firstFailure ?? ValidationError("no export key to check with")
        }
    }
}
