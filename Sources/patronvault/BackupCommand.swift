import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd
import PatronVaultPolicy

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
                is written out as the same two files, both pinned in snapshots under the vault's write \
                lock and copied after it is released, so the folder is restored the same way on any \
                host, without a server.
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
            abstract: "Restore a backup into a new vault folder, or into an empty pair of PostgreSQL databases, checked against its signed manifest, with its audit trail verified.",
            discussion: """
                With --storage postgres (or a configuration file saying so) the backup is restored \
                into the folder first and checked there, then copied into the two databases, which \
                must be empty, and its trail verified on PostgreSQL as an admin of the backup \
                (PATRONVAULT_TOKEN or --token-file); the folder then keeps no copy of either \
                database, only what the host needs beside them.
                """)
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "The backup folder.") var backup: String
        @Option(name: .long, help: "The new vault folder; it must not exist, or be empty.") var into: String
        @Option(name: .long, help: "Take the key store from here instead (a keys.db, a vault folder, another backup, or a vault's key database, postgres://USER@HOST[:PORT]/DATABASE, its password from --keys-password-file or PATRONVAULT_KEYS_PASSWORD): records of patrons whose keys were destroyed since stay unreadable.")
        var keysFrom: String?

        /// What a restore into PostgreSQL prints with `--json`: the restore's report, with the
        /// trail's entries as verified on the server and the rows copied into each table.
        private struct PostgresOutput: Encodable {
            let report: RestoreReport
            let auditEntries: Int64
            let tables: [String: Int]

            private enum Keys: String, CodingKey { case auditEntries, storage, tables }

            func encode(to encoder: any Encoder) throws {
                try report.encode(to: encoder)
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(auditEntries, forKey: .auditEntries)
                try container.encode("postgres", forKey: .storage)
                try container.encode(tables, forKey: .tables)
            }
        }

        func run() async throws {
            try await Terminal.report {
                if let client = try options.client {
                    throw CommandFailure(.invalidInput, "backup restore runs on the vault host, not through the daemon at \(client.description)")
                }
                let postgres = try options.location.postgresConfiguration()
                if postgres != nil { _ = try credentials.token() }
                let folder = URL(fileURLWithPath: into, isDirectory: true)
                let policies = try Vault.loadPolicies(from: options.policyDirectory)
                let configuration = try options.vaultConfiguration
                let report = try await withKeySource { keys in
                    try await Vault.restore(
                        backup: URL(fileURLWithPath: backup, isDirectory: true), keysFrom: keys, into: folder, masterKey: options.masterKey,
                        policies: policies, configuration: configuration)
                }
                guard let postgres else {
                    if options.json { return try Terminal.json(report) }
                    Terminal.line("Restored the backup of \(report.backupCreatedAt) into \(report.restoredTo); audit trail intact (\(report.auditEntries) entries).")
                    Terminal.line("\(report.patrons) patrons, of whom \(report.unrecoverablePatrons) cannot be opened: their keys were destroyed after the backup (erased or purged).")
                    return
                }
                let (tables, entries): ([(table: String, rows: Int)], Int64)
                do {
                    (tables, entries) = try await carry(folder, into: PostgresTarget(postgres), policies: policies, configuration: configuration)
                } catch {
                    try? FileManager.default.removeItem(at: folder)
                    throw error
                }
                if options.json {
                    return try Terminal.json(PostgresOutput(
                        report: report, auditEntries: entries, tables: Dictionary(uniqueKeysWithValues: tables.map { ($0.table, $0.rows) })))
                }
                Terminal.line("Restored the backup of \(report.backupCreatedAt) into PostgreSQL; audit trail intact there (\(entries) entries).")
                Terminal.line("\(report.patrons) patrons, of whom \(report.unrecoverablePatrons) cannot be opened: their keys were destroyed after the backup (erased or purged).")
                Terminal.line("\(report.restoredTo) is this host's vault folder for it, holding no copy of either database.")
            }
        }

        /// `--keys-from` as a file or folder; a key database on PostgreSQL is first written out, in
        /// one snapshot, to a 0700 folder of its own, removed once `body` is done.
        private func withKeySource<T>(_ body: (URL?) async throws -> T) async throws -> T {
            guard let keysFrom, keysFrom.hasPrefix("postgres://") || keysFrom.hasPrefix("postgresql://") else {
                return try await body(keysFrom.map { URL(fileURLWithPath: $0) })
            }
            var location = try PostgresTarget.location(keysFrom)
            location.password = try VaultLocation.password(file: options.location.keysPasswordFile, environment: "PATRONVAULT_KEYS_PASSWORD")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("patronvault-keys-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(at: folder) }
            let copy = folder.appendingPathComponent("keys.db")
            try await PostgresTarget.copyKeys(from: location, to: copy.path)
            return try await body(copy)
        }

        /// Copies the restored folder's two files into the empty pair, verifies the trail there,
        /// then removes the files: a key store left in the folder would be one more copy to keep
        /// under the erasure rule. The caller is checked as an admin on the folder first, so a
        /// wrong token leaves the pair untouched. On failure the caller removes the folder.
        private func carry(
            _ folder: URL, into target: PostgresTarget, policies: PolicySet, configuration: VaultConfiguration
        ) async throws -> ([(table: String, rows: Int)], Int64) {
            let restored = try await Vault.open(at: folder, masterKey: options.masterKey, policies: policies, configuration: configuration)
            _ = try await restored.closing { vault in
                try await vault.oversight.verifyAudit(against: nil, by: try await credentials.principal(in: vault))
            }
            let copied = try await target.copy(from: folder)
            let vault = try await Vault.open(at: folder, masterKey: options.masterKey, policies: policies, configuration: configuration, storage: target.source)
            let verification = try await vault.closing { vault in
                try await vault.oversight.verifyAudit(against: nil, by: try await credentials.principal(in: vault))
            }
            guard verification.isIntact else {
                throw CommandFailure(
                    .integrityFailure,
                    "the restored audit trail does not verify on PostgreSQL; the folder was removed, and the two databases hold the unverified copy: drop and create them again before another restore")
            }
            for file in [SQLiteStorage.recordsFileName, SQLiteStorage.keysFileName] {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(at: folder.appendingPathComponent(file + suffix)) }
            }
            return (copied, verification.entryCount)
        }
    }
}
