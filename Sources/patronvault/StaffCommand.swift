import ArgumentParser
import Foundation
import PatronVaultCore

struct StaffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff", abstract: "Manage staff accounts (admins only).",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a staff account and print its token once.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Account name.") var name: String
        @Option(name: .long, help: "staff, admin or privacy-officer.") var role: String
        @Flag(name: .long, help: "The token works only through the daemon (--server), never with the vault folder opened directly.") var remoteOnly = false

        func run() async throws {
            try await Terminal.report {
                guard let role = StaffRole(rawValue: role) else {
                    throw ValidationError("role must be one of: \(StaffRole.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let issued = try await options.perform { vault in
                    try await vault.administration.addStaff(name: name, role: role, remoteOnly: remoteOnly, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send(
                        "POST", "/v1/staff", token: credentials.token(), body: NewAccount(name: name, role: role.rawValue, remoteOnly: remoteOnly), as: IssuedToken.self)
                }
                if options.json {
                    try Terminal.json(issued)
                } else {
                    Terminal.line("Added \(issued.account.role.rawValue) '\(issued.account.name)' (\(issued.account.id))\(remoteOnly ? ", through the daemon only" : ""). Token (shown once):")
                    Terminal.line(issued.token)
                }
            }
        }
    }

    /// The body of `POST /v1/staff`.
    struct NewAccount: Encodable, Sendable {
        let name: String
        let role: String
        let remoteOnly: Bool
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List staff accounts (never their tokens).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials

        func run() async throws {
            try await Terminal.report {
                let accounts = try await options.perform { vault in
                    try await vault.administration.listStaff(by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("GET", "/v1/staff", token: credentials.token(), as: [String: [StaffAccount]].self)["accounts"] ?? []
                }
                if options.json {
                    try Terminal.json(["staff": accounts])
                } else {
                    for a in accounts {
                        Terminal.line("\(a.name)\t\(a.role.rawValue)\t\(a.id)\t\(a.isActive ? "active" : "revoked")\(a.remoteOnly ? "\tdaemon only" : "")")
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a staff account's token.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Account name.") var name: String

        func run() async throws {
            try await Terminal.report {
                let account = try await options.perform { vault in
                    try await vault.administration.revokeStaff(name: name, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("DELETE", "/v1/staff/\(DaemonClient.segment(name))", token: credentials.token(), as: StaffAccount.self)
                }
                if options.json {
                    try Terminal.json(["account": account])
                } else {
                    Terminal.line("Revoked '\(account.name)'.")
                }
            }
        }
    }
}
