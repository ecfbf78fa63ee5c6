import ArgumentParser
import Foundation
import PatronVaultCore

struct LoanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loan", abstract: "Check items out and back in (staff).", subcommands: [Checkout.self, Return.self])

    struct Checkout: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lend an item to a patron.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var card: String
        @Option(name: .long) var item: String
        @Option(name: .long) var title: String
        @Option(name: .long) var author: String?
        @Option(name: .long, help: "YYYY-MM-DD (default: 21 days)") var due: String?
        @Option(name: .long, help: "Lending branch, kept in the anonymous statistics.") var branch: String?

        func run() throws {
            try Terminal.report {
                let due = try CalendarDay.option(due, name: "due date")
                let vault = try options.openVault()
                let loan = try vault.checkout(
                    card: card, item: item, title: title, author: author, due: due, branch: branch, by: try credentials.principal(in: vault))
                if options.json { Terminal.json(["item": loan.itemBarcode, "due": loan.dueOn.description]) } else {
                    Terminal.line("Checked out \(loan.itemBarcode), due \(loan.dueOn).")
                }
            }
        }
    }

    struct Return: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take an item back; the loan is kept as history only if the patron opted in.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var item: String

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let result = try vault.returnItem(item, by: try credentials.principal(in: vault))
                if options.json { Terminal.json(["item": result.itemBarcode, "outcome": result.outcome.rawValue]) } else {
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
