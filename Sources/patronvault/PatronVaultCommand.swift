import ArgumentParser

/// The root is async because every vault operation is: its subcommands await the core's rooms.
@main
struct PatronVaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patronvault",
        abstract: "A vault for public-library patron records: sealed per record, erased for real.",
        subcommands: [
            InitCommand.self, StaffCommand.self, PatronCommand.self, LoanCommand.self, MeCommand.self, StatsCommand.self, PolicyCommand.self, AuditCommand.self, ExportCommand.self, RetentionCommand.self, BackupCommand.self, KeysCommand.self, LegalOrderCommand.self, MigrateCommand.self, DemoCommand.self,
        ]
    )
}
