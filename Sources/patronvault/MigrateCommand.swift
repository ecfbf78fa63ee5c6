import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy the vault folder's records, keys and audit trail into two empty PostgreSQL databases, then verify the trail there (admins, on the vault host).",
        discussion: """
            The vault must not be open elsewhere (stop the daemon). Nothing is decrypted: rows are \
            copied as they are, so the audit chain and its signed checkpoints verify on the other \
            side. Passwords come from --records-password-file and --keys-password-file (or \
            PATRONVAULT_RECORDS_PASSWORD and PATRONVAULT_KEYS_PASSWORD). The folder's files are \
            left as they were; remove them once the PostgreSQL vault serves.
            """)

    @OptionGroup var options: VaultOptions
    @OptionGroup var credentials: StaffCredentials

    @Flag(name: .long, help: "Copy into PostgreSQL (the one direction there is).")
    var toPostgres = false

    @Option(name: .long, help: "The empty records database, postgres://USER@HOST[:PORT]/DATABASE.")
    var records: String

    @Option(name: .long, help: "The empty key database, another database than the records one.")
    var keys: String

    @Flag(name: .long, help: "Show how many rows each table would copy, and copy nothing.")
    var dryRun = false

    private struct Output: Encodable {
        struct Table: Encodable {
            let table: String
            let rows: Int
        }

        let dryRun: Bool
        let tables: [Table]
        let auditEntries: Int64
        let auditIntact: Bool?
    }

    func run() async throws {
        try await Terminal.report {
            guard toPostgres else { throw ValidationError("say where to: --to-postgres") }
            try options.requireEmbedded("a migration starts from a vault folder: it")
            if let client = try options.client {
                throw CommandFailure(.invalidInput, "a migration runs on the vault host with the daemon stopped, not through the daemon at \(client.description)")
            }
            let location = options.location
            var recordsLocation = try PostgresTarget.location(records)
            var keysLocation = try PostgresTarget.location(keys)
            recordsLocation.password = try VaultLocation.password(file: location.recordsPasswordFile, environment: "PATRONVAULT_RECORDS_PASSWORD")
            keysLocation.password = try VaultLocation.password(file: location.keysPasswordFile, environment: "PATRONVAULT_KEYS_PASSWORD")
            let policies = try Vault.loadPolicies(from: options.policyDirectory)
            let configuration = try options.vaultConfiguration

            // The folder's vault first: the master key checked, the trail verified, the caller an
            // admin (verifying the trail is theirs), before anything is made on the other side.
            let source = try await Vault.open(at: options.directory, masterKey: options.masterKey, policies: policies, configuration: configuration)
            let before = try await source.closing { vault in
                try await vault.oversight.verifyAudit(against: nil, by: try await credentials.principal(in: vault))
            }
            guard before.isIntact else { throw CommandFailure(.integrityFailure, "the folder's audit trail does not verify; nothing was migrated") }
            let target = PostgresTarget(records: recordsLocation, keys: keysLocation)
            if dryRun {
                let counts = try PostgresTarget.counts(in: options.directory)
                try report(Output(dryRun: true, tables: counts.map { .init(table: $0.table, rows: $0.rows) }, auditEntries: before.entryCount, auditIntact: nil))
                return
            }
            let copied = try await target.copy(from: options.directory)
            let migrated = try await Vault.open(
                at: options.directory, masterKey: options.masterKey, policies: policies, configuration: configuration, storage: target.source)
            let after = try await migrated.closing { vault in
                try await vault.oversight.verifyAudit(against: nil, by: try await credentials.principal(in: vault))
            }
            try report(Output(
                dryRun: false, tables: copied.map { .init(table: $0.table, rows: $0.rows) }, auditEntries: after.entryCount,
                auditIntact: after.isIntact))
            guard after.isIntact else { throw CommandFailure(.integrityFailure, "the copied audit trail does not verify on PostgreSQL") }
        }
    }

    private func report(_ output: Output) throws {
        if options.json { return try Terminal.json(output) }
        for table in output.tables { Terminal.line("\(table.table.padding(toLength: 20, withPad: " ", startingAt: 0)) \(table.rows)") }
        if output.dryRun {
            Terminal.line("Dry run: the audit trail verifies (\(output.auditEntries) entries); nothing was copied.")
        } else {
            Terminal.line("Copied to PostgreSQL; the audit trail verifies there (\(output.auditEntries) entries, the migration's own included).")
            Terminal.line("The vault folder's files are unchanged: point the front ends at PostgreSQL (storage = \"postgres\"), then remove vault.db and keys.db.")
        }
    }
}
