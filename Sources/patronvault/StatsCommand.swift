import ArgumentParser
import Foundation
import PatronVaultCore

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show the anonymous circulation statistics (item, branch, month, returns).")
    @OptionGroup var options: VaultOptions
    @OptionGroup var credentials: StaffCredentials

    private struct Output: Encodable {
        let statistics: [CirculationStatistic]
        let totalReturns: Int
    }

    func run() async throws {
        try await Terminal.report {
            let stats = try await options.perform { vault in
                try await vault.desk.statistics(by: try await credentials.principal(in: vault))
            } remote: { client in
                try await client.send("GET", "/v1/statistics", token: try credentials.token(), as: [CirculationStatistic].self)
            }
            let total = stats.reduce(0) { $0 + $1.returns }
            if options.json {
                try Terminal.json(Output(statistics: stats, totalReturns: total))
            } else {
                for s in stats { Terminal.line("\(s.month)\t\(s.branch)\t\(s.itemBarcode)\t\(s.returns)") }
                Terminal.line("Total returns: \(total)")
            }
        }
    }
}
