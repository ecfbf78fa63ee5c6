import ArgumentParser
import Foundation
import PatronVaultCore

struct MeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "me", abstract: "Your own account, with your card and PIN.", subcommands: [Show.self, History.self])

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
