import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Rotate the master key, change the passphrase, and see which key versions are in use (on the vault host, with the daemon stopped).",
        discussion: """
            A rotation rewraps every patron and system key under a new master key, in batches, and \
            never re-encrypts a record. Killed at any point, it is finished by running it again with \
            the same new key; the vault does not open meanwhile. Once 'keys status' shows no key \
            under the old version, the old master key opens nothing in this vault: keep it only as \
            long as you keep key-store backups taken before the rotation.
            """,
        subcommands: [Rotate.self, ChangePassphrase.self, RotateSigning.self, Status.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rotate",
            abstract: "Rewrap every key under a new master key file (admins); run again with the same file to finish an interrupted rotation.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long, help: "Where to write the new key file (0600; it must not exist). To finish an interrupted rotation, the file it wrote.")
        var newKeyFile: String
        @Option(name: .long, help: "Patron keys rewrapped per key-store transaction.") var batchSize = Vault.rotationBatchSize

        func run() async throws {
            try await KeysCommand.rotate(options: options, credentials: credentials, batchSize: batchSize) { .keyFile(URL(fileURLWithPath: newKeyFile)) }
        }
    }

    struct ChangePassphrase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "change-passphrase",
            abstract: "Rewrap every key under a master key from a new passphrase, read from $PATRONVAULT_NEW_PASSPHRASE (admins).",
            discussion: "The current passphrase comes from $PATRONVAULT_PASSPHRASE, or the current key file is used: a key-file vault moves to a passphrase.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long, help: "Patron keys rewrapped per key-store transaction.") var batchSize = Vault.rotationBatchSize

        func run() async throws {
            try await KeysCommand.rotate(options: options, credentials: credentials, batchSize: batchSize) {
                guard let passphrase = Environment.value("PATRONVAULT_NEW_PASSPHRASE") else {
                    throw ValidationError("no new passphrase: set PATRONVAULT_NEW_PASSPHRASE")
                }
                return .passphrase(Array(passphrase.utf8))
            }
        }
    }

    struct RotateSigning: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-signing",
            abstract: "Replace the audit signing key and the export key (admins); the retired public keys are kept so what they signed still verifies.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials

        func run() async throws {
            try await Terminal.report {
                if let client = try options.client {
                    throw CommandFailure(.invalidInput, "the signing keys are changed on the vault host with the daemon stopped, not through the daemon at \(client.description)")
                }
                let report = try await Vault.rotateSigningKeys(
                    at: options.directory, masterKey: options.masterKey, policies: try Vault.loadPolicies(from: options.policyDirectory),
                    configuration: try options.vaultConfiguration, storage: try options.location.storageSource(),
                    authorizing: { vault in try await credentials.principal(in: vault) })
                if options.json { return try Terminal.json(report) }
                Terminal.line("The retired audit key signed a last checkpoint at \(report.lastCheckpointSize) entries; checkpoints, backups, exports and receipts signed before \(report.retiredAt) still verify.")
                Terminal.line("New export key (give it to patrons and verifiers): \(report.exportKey)")
                Terminal.line("New audit key (for outside checkpoint verifiers): \(report.auditKey)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status",
            abstract: "Show the current master key version, how many keys each version wraps, and any rotation in progress (no key needed).")
        @OptionGroup var options: VaultOptions

        func run() async throws {
            try await Terminal.report {
                if let client = try options.client {
                    throw CommandFailure(.invalidInput, "keys status runs on the vault host, not through the daemon at \(client.description)")
                }
                let status = try await Vault.keyStatus(at: options.directory, storage: try options.location.storageSource())
                if options.json { return try Terminal.json(status) }
                Terminal.line("Master key: version \(status.currentVersion), from a \(status.keySource == "passphrase" ? "passphrase" : "key file").")
                for version in status.versions {
                    Terminal.line("  version \(version.version): \(version.patronKeys) patron keys, \(version.systemKeys) system keys")
                }
                Terminal.line("  \(status.recordKeys) record keys (wrapped by patron keys, untouched by a rotation)")
                for retired in status.retiredSigningKeys {
                    Terminal.line("  signing keys retired \(retired.retiredAt): audit \(retired.auditKey.prefix(16))…, export \(retired.exportKey.prefix(16))… (kept to verify what they signed)")
                }
                if let rotation = status.rotation {
                    Terminal.line(
                        "A rotation to version \(rotation.toVersion) (\(rotation.keySource)) was interrupted with \(rotation.patronKeysLeft) patron keys left; run it again with the same new key to finish it.")
                } else if status.versions.allSatisfy({ $0.version == status.currentVersion }) {
                    Terminal.line("No key is wrapped under an older version: older master keys open nothing in this vault.")
                }
            }
        }
    }

    static func rotate(options: VaultOptions, credentials: StaffCredentials, batchSize: Int, to newKey: () throws -> MasterKeySource) async throws {
        try await Terminal.report {
            let next = try newKey()
            if let client = try options.client {
                throw CommandFailure(.invalidInput, "the master key is changed on the vault host with the daemon stopped, not through the daemon at \(client.description)")
            }
            let report = try await Vault.rotateMasterKey(
                at: options.directory, from: options.masterKey, to: next, policies: try Vault.loadPolicies(from: options.policyDirectory),
                configuration: try options.vaultConfiguration, batchSize: batchSize, storage: try options.location.storageSource(),
                authorizing: { vault in try await credentials.principal(in: vault) })
            if options.json { return try Terminal.json(report) }
            Terminal.line(
                "\(report.resumed ? "Finished the interrupted rotation" : "Rotated the master key"): version \(report.fromVersion) → \(report.toVersion); \(report.patronKeysRewrapped) patron keys rewrapped by this run, no record re-encrypted.")
            switch next {
            case .keyFile(let url):
                Terminal.line("The vault now opens only with \(url.path): point --key-file or PATRONVAULT_KEY_FILE at it.")
            case .passphrase:
                Terminal.line("The vault now opens only with the new passphrase: set PATRONVAULT_PASSPHRASE to it.")
            }
            Terminal.line("The old master key opens nothing in this vault; keep it only while you keep key-store backups taken before now.")
        }
    }
}
