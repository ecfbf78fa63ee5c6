import ArgumentParser
import Foundation
import PatronVaultCore

struct LoanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loan", abstract: "Check items out and back in (staff).", subcommands: [Checkout.self, Return.self])

    struct Checkout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lend an item to a patron.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var card: String
        @Option(name: .long) var item: String
        @Option(name: .long) var title: String
        @Option(name: .long) var author: String?
        @Option(name: .long, help: "YYYY-MM-DD (default: 21 days)") var due: String?
        @Option(name: .long, help: "Lending branch, kept in the anonymous statistics.") var branch: String?

        /// What a checkout reports: the item and the day it is due, not the whole loan.
        private struct Output: Encodable {
            let item: String
            let due: CalendarDay
        }

        func run() async throws {
            try await Terminal.report {
                let due = try CalendarDay.option(due, name: "due date")
                let loan = try await options.withVault { vault in
                    try await vault.desk.checkout(
                        card: card, item: item, title: title, author: author, due: due, branch: branch, by: try await credentials.principal(in: vault))
                }
                if options.json { try Terminal.json(Output(item: loan.itemBarcode, due: loan.dueOn)) } else {
                    Terminal.line("Checked out \(loan.itemBarcode), due \(loan.dueOn).")
                }
            }
        }
    }

    struct Return: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take an item back; the loan is kept as history only if the patron opted in.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var item: String

        func run() async throws {
            try await Terminal.report {
                let result = try await options.withVault { vault in
                    try await vault.desk.returnItem(item, by: try await credentials.principal(in: vault))
                }
                if options.json { try Terminal.json(result) } else {
                    switch result.outcome {
                    case .keptAsHistory: Terminal.line("Returned \(result.itemBarcode); kept in the patron's reading history (they opted in).")
                    case .destroyed: Terminal.line("Returned \(result.itemBarcode); the loan record was destroyed and its key shredded.")
                    case .destroyedShredPending:
                        Terminal.line("Returned \(result.itemBarcode); the loan record was deleted; its key's shred is queued and finishes on the next operation.")
                    }
                }
            }
        }
    }
}
