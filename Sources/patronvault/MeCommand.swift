import ArgumentParser
import Foundation
import PatronVaultCore

struct MeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "me", abstract: "Your own account, with your card and PIN.", subcommands: [Show.self, History.self, Accesses.self, ChangePIN.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your registration and the items you have out.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let profile = try vault.myProfile(by: try credentials.principal(in: vault))
                if options.json { Terminal.json(Rendering.profile(profile)) } else { Terminal.line(Rendering.profileText(profile)) }
            }
        }
    }

    struct ChangePIN: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "change-pin", abstract: "Change your PIN: stdin gives the current PIN on the first line, the new one on the second.")
        @Option(name: .long, help: "Your library card barcode.") var card: String
        @OptionGroup var options: VaultOptions

        func run() throws {
            try Terminal.report {
                guard let current = readLine(strippingNewline: true), !current.isEmpty,
                      let new = readLine(strippingNewline: true), !new.isEmpty
                else {
                    throw ValidationError("give the current PIN and the new PIN on two lines of standard input")
                }
                let vault = try options.openVault()
                let principal = try vault.authenticatePatron(card: card, pin: Array(current.utf8))
                try vault.changeOwnPIN(to: Array(new.utf8), by: principal)
                if options.json { Terminal.json(["changed": true]) } else { Terminal.line("Your PIN is changed.") }
            }
        }
    }

    struct Accesses: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who looked at your record, when, and for what purpose.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let accesses = try vault.myAccesses(by: try credentials.principal(in: vault))
                if options.json {
                    Terminal.json(["accesses": accesses.map { a -> [String: Any] in
                        var out: [String: Any] = ["time": Terminal.time(a.time), "staffID": a.staffID, "role": a.role, "action": a.action, "permitted": a.permitted]
                        out["staff"] = a.staffName
                        out["purpose"] = a.purpose
                        return out
                    }])
                } else if accesses.isEmpty {
                    Terminal.line("No staff member has accessed your record.")
                } else {
                    for a in accesses {
                        Terminal.line("\(Terminal.time(a.time))  \(a.staffName ?? a.staffID) (\(a.role))  \(a.action)  purpose: \(a.purpose ?? "none")  \(a.permitted ? "allowed" : "refused")")
                    }
                }
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your reading history (kept only if you chose history: keep).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let loans = try vault.myHistory(by: try credentials.principal(in: vault))
                if options.json {
                    Terminal.json(["history": loans.map(Rendering.loan)])
                } else if loans.isEmpty {
                    Terminal.line("No reading history is kept for you.")
                } else {
                    for loan in loans { Terminal.line(Rendering.loanText(loan)) }
                }
            }
        }
    }
}
