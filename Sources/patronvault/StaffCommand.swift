import ArgumentParser
import Foundation
import PatronVaultCore

struct StaffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff", abstract: "Manage staff accounts (admins only).",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a staff account and print its token once.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Account name.") var name: String
        @Option(name: .long, help: "staff, admin or privacy-officer.") var role: String

        func run() throws {
            try Terminal.report {
                guard let role = StaffRole(rawValue: role) else {
                    throw ValidationError("role must be one of: \(StaffRole.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let vault = try options.openVault()
                let issued = try vault.addStaff(name: name, role: role, by: try credentials.principal(in: vault))
                if options.json {
                    Terminal.json(["account": Rendering.staff(issued.account), "token": issued.token])
                } else {
                    Terminal.line("Added \(issued.account.role.rawValue) '\(issued.account.name)' (\(issued.account.id)). Token (shown once):")
                    Terminal.line(issued.token)
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List staff accounts (never their tokens).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let accounts = try vault.listStaff(by: try credentials.principal(in: vault))
                if options.json {
                    Terminal.json(["staff": accounts.map(Rendering.staff)])
                } else {
                    for a in accounts {
                        Terminal.line("\(a.name)\t\(a.role.rawValue)\t\(a.id)\t\(a.isActive ? "active" : "revoked")")
                    }
                }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a staff account's token.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Account name.") var name: String

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let account = try vault.revokeStaff(name: name, by: try credentials.principal(in: vault))
                if options.json {
                    Terminal.json(["account": Rendering.staff(account)])
                } else {
                    Terminal.line("Revoked '\(account.name)'.")
                }
            }
        }
    }
}
