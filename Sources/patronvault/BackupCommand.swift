import ArgumentParser
import Foundation
import PatronVaultCore

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the records and the key store as separate files, and restore them (on the vault host).",
        discussion: """
            Keep record backups as long as you like, but key-store backups (keys/keys.db) no \
            longer than the retention and erasure deadline: once the key stores that held an erased \
            patron's keys are gone, that patron's records in any old record backup can never be \
            opened again.
            """,
        subcommands: [Create.self, Restore.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create",
            abstract: "Copy the records and the key store into a new folder as vault.db and keys.db, consistent while daemons serve, with a signed manifest (admins).",
            discussion: """
                An embedded vault's files are copied with SQLite's online backup. A vault on PostgreSQL \
                is written out as the same two files, read under the vault's write lock, so the folder \
                is restored the same way on any host, without a server.
                """)
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long, help: "A folder that does not exist yet, or is empty.") var out: String

        func run() async throws {
            try await Terminal.report {
                let manifest = try await options.withVault { vault in
                    try await vault.backups.create(in: URL(fileURLWithPath: out, isDirectory: true), by: try await credentials.principal(in: vault))
                }
                if options.json {
                    try Terminal.json(manifest)
                } else {
                    Terminal.line("Backup written to \(out): \(BackupManifest.recordsFile) and \(BackupManifest.keysFile), with a signed manifest.")
                    Terminal.line("Store the keys/ folder apart from records/, and delete it once it is older than the erasure deadline.")
                }
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "restore",
            abstract: "Restore a backup into a new vault folder, checked against its signed manifest, with its audit trail verified.")
        @OptionGroup var options: VaultOptions
        @Argument(help: "The backup folder.") var backup: String
        @Option(name: .long, help: "The new vault folder; it must not exist, or be empty.") var into: String
        @Option(name: .long, help: "Take the key store from here instead (a keys.db, a vault folder or another backup): records of patrons whose keys were destroyed since stay unreadable.")
        var keysFrom: String?

        func run() async throws {
            try await Terminal.report {
                if let client = try options.client {
                    throw CommandFailure(.invalidInput, "backup restore runs on the vault host, not through the daemon at \(client.description)")
                }
                let report = try await Vault.restore(
                    backup: URL(fileURLWithPath: backup, isDirectory: true), keysFrom: keysFrom.map { URL(fileURLWithPath: $0) },
                    into: URL(fileURLWithPath: into, isDirectory: true), masterKey: options.masterKey,
                    policies: try Vault.loadPolicies(from: options.policyDirectory), configuration: try options.vaultConfiguration)
                if options.json {
                    try Terminal.json(report)
                } else {
                    Terminal.line("Restored the backup of \(report.backupCreatedAt) into \(report.restoredTo); audit trail intact (\(report.auditEntries) entries).")
                    Terminal.line("\(report.patrons) patrons, of whom \(report.unrecoverablePatrons) cannot be opened: their keys were destroyed after the backup (erased or purged).")
                    if options.location.storage == .postgres {
                        Terminal.line("The restored vault is a folder; to serve it from PostgreSQL again, copy it into an empty pair of databases with `patronvault migrate --to-postgres`.")
                    }
                }
            }
        }
    }
}
