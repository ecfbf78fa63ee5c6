import ArgumentParser
import Foundation
import PatronVaultCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a vault, its master key and the first admin account.",
        discussion: """
            The master key is written to a new 0600 key file (keep it apart from backups of the \
            vault), or derived from a passphrase given on stdin or in PATRONVAULT_PASSPHRASE. The \
            admin token is printed once and cannot be shown again.
            """)

    @OptionGroup var options: VaultOptions

    @Option(name: .long, help: "Name of the first admin account.")
    var admin = "admin"

    @Flag(name: .long, help: "Protect the vault with a passphrase read from stdin instead of a key file.")
    var passphraseStdin = false

    /// What `init` reports: where the vault and its key file are, and the admin's token, once.
    private struct Output: Encodable {
        let vault: String
        let keyFile: String?
        let admin: StaffAccount
        let token: String
    }

    func run() async throws {
        try await Terminal.report {
            var source = options.masterKey
            if passphraseStdin {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ValidationError("no passphrase on standard input")
                }
                source = .passphrase(Array(line.utf8))
            }
            let policies = try Vault.loadPolicies(from: options.policyDirectory)
            let (vault, issued) = try await options.location.initialize(
                masterKey: source, adminName: admin, policies: policies, configuration: try options.vaultConfiguration)
            await vault.close()
            if options.json {
                let keyFile: String? = if case .keyFile(let url) = source { url.path } else { nil }
                try Terminal.json(Output(vault: options.directory.path, keyFile: keyFile, admin: issued.account, token: issued.token))
            } else {
                Terminal.line("Created vault at \(options.directory.path)")
                if case .keyFile(let url) = source {
                    Terminal.line("Master key file: \(url.path) (mode 0600; keep it out of backups of the vault)")
                }
                Terminal.line("Admin account '\(issued.account.name)' token (shown once, store it safely):")
                Terminal.line(issued.token)
            }
        }
    }
}
