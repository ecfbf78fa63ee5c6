import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

struct LoanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loan", abstract: "Check items out and back in (staff).", subcommands: [Checkout.self, Return.self, Settle.self])

    struct Checkout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "checkout", abstract: "Lend an item to a patron.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var card: String
        @Option(name: .long) var item: String
        @Option(name: .long) var title: String
        @Option(name: .long) var author: String?
        @Option(name: .long, help: "YYYY-MM-DD (default: 21 days)") var due: String?
        @Option(name: .long, help: "Lending branch, kept in the anonymous statistics.") var branch: String?

        /// What a checkout reports: the item and the day it is due, not the whole loan.

        func run() async throws {
            try await Terminal.report {
                let due = try CalendarDay.option(due, name: "due date")
                let loan = try await options.perform { vault in
                    let loan = try await vault.desk.checkout(
                        card: card, item: item, title: title, author: author, due: due, branch: branch, by: try await credentials.principal(in: vault))
                    return CheckedOut(item: loan.itemBarcode, due: loan.dueOn)
                } remote: { client in
                    let body = CheckoutRequest(card: card, item: item, title: title, author: author, due: due?.description, branch: branch)
                    return try await client.send("POST", "/v1/loans", token: try credentials.token(), body: body, as: CheckedOut.self)
                }
                if options.json { try Terminal.json(loan) } else {
                    Terminal.line("Checked out \(loan.item), due \(loan.due).")
                }
            }
        }
    }

    struct Return: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "return",
            abstract: "Take an item back; the loan is kept as history only if the patron opted in, or held while a fee is owed.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var item: String
        @Option(name: .long, help: "A fee charged on the return (overdue, damage), such as 2.50: the loan is held until it is settled.") var fee: String?

        func run() async throws {
            try await Terminal.report {
                let fee = try fee.map { try LoanFee.amount(parsing: $0) }
                let result = try await options.perform { vault in
                    try await vault.desk.returnItem(item, fee: fee, by: try await credentials.principal(in: vault))
                } remote: { client in
                    let body = ReturnRequest(item: item, fee: fee.map(LoanFee.text))
                    return try await client.send("POST", "/v1/loans/return", token: try credentials.token(), body: body, as: LoanReturn.self)
                }
                if options.json { try Terminal.json(result) } else {
                    switch result.outcome {
                    case .keptAsHistory: Terminal.line("Returned \(result.itemBarcode); kept in the patron's reading history (they opted in).")
                    case .heldForFee:
                        Terminal.line("Returned \(result.itemBarcode) with a fee of \(LoanFee.text(fee ?? 0)); the loan is held until the fee is settled (loan settle).")
                    case .destroyed: Terminal.line("Returned \(result.itemBarcode); the loan record was destroyed and its key shredded.")
                    case .destroyedShredPending:
                        Terminal.line("Returned \(result.itemBarcode); the loan record was deleted; its key's shred is queued and finishes on the next operation.")
                    }
                }
            }
        }
    }

    struct Settle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "settle",
            abstract: "Record that the fee on a returned item is paid or waived (staff, purpose fines).",
            discussion: """
                The loan then goes the way the patron chose: into their reading history if they keep it, \
                otherwise it is destroyed by the retention schedule's held-loans rule.
                """)
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var card: String
        @Option(name: .long) var item: String
        @Option(name: .long, help: "Why you are doing this; the shipped rules allow it for fines.") var purpose: String

        func run() async throws {
            try await Terminal.report {
                let settlement = try await options.perform { vault in
                    try await vault.desk.settleFee(card: card, item: item, purpose: purpose, by: try await credentials.principal(in: vault))
                } remote: { client in
                    let body = SettleRequest(card: card, item: item, purpose: purpose)
                    return try await client.send("POST", "/v1/loans/settle", token: try credentials.token(), body: body, as: FeeSettlement.self)
                }
                if options.json { try Terminal.json(settlement) } else {
                    let paid = "Fee of \(LoanFee.text(settlement.amount)) on \(settlement.itemBarcode) settled"
                    switch settlement.outcome {
                    case .keptAsHistory: Terminal.line("\(paid); the loan is now in the patron's reading history (they opted in).")
                    case .heldUntilRetention:
                        if let day = settlement.destroyedAfter {
                            Terminal.line("\(paid); the loan record is destroyed by the first retention run on or after \(day).")
                        } else {
                            Terminal.line("\(paid); the retention schedule has no held-loans rule, so the loan record is kept until one is added.")
                        }
                    }
                }
            }
        }
    }
}

