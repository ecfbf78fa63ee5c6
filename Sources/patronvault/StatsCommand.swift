import ArgumentParser
import Foundation
import PatronVaultCore

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show the anonymous circulation statistics (item, branch, month, returns).")
    @OptionGroup var options: VaultOptions
    @OptionGroup var credentials: StaffCredentials

    func run() throws {
        try Terminal.report {
            let vault = try options.openVault()
            let stats = try vault.statistics(by: try credentials.principal(in: vault))
            if options.json {
                Terminal.json([
                    "statistics": stats.map { ["item": $0.itemBarcode, "branch": $0.branch, "month": $0.month, "returns": $0.returns] as [String: Any] },
                    "totalReturns": stats.reduce(0) { $0 + $1.returns },
                ])
            } else {
                for s in stats { Terminal.line("\(s.month)\t\(s.branch)\t\(s.itemBarcode)\t\(s.returns)") }
                Terminal.line("Total returns: \(stats.reduce(0) { $0 + $1.returns })")
            }
        }
    }
}
