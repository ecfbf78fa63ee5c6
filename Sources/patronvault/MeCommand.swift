import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

struct MeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "me", abstract: "Your own account, with your card and PIN.", subcommands: [Show.self, History.self, Accesses.self, ChangePIN.self, Export.self, PurgeHistory.self, SetHistory.self, Erase.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Your registration and the items you have out.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials

        func run() async throws {
            try await Terminal.report {
                let profile = try await options.perform { vault in
                    try await vault.selfService.myProfile(by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await credentials.session(at: client) { token in try await client.send("GET", "/v1/me", token: token, as: PatronProfile.self) }
                }
                if options.json { try Terminal.json(profile) } else { Terminal.line(Rendering.profileText(profile)) }
            }
        }
    }

    struct ChangePIN: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "change-pin", abstract: "Change your PIN: stdin gives the current PIN on the first line, the new one on the second.")
        @Option(name: .long, help: "Your library card barcode.") var card: String
        @OptionGroup var options: VaultOptions

        func run() async throws {
            try await Terminal.report {
                guard let current = readLine(strippingNewline: true), !current.isEmpty,
                      let new = readLine(strippingNewline: true), !new.isEmpty
                else {
                    throw ValidationError("give the current PIN and the new PIN on two lines of standard input")
                }
                try await options.perform { vault in
                    let principal = try await vault.signIn.patron(card: card, pin: Array(current.utf8))
                    try await vault.selfService.changeOwnPIN(to: Array(new.utf8), by: principal)
                } remote: { client in
                    let session = PatronCredentials(card: card, pin: current)
                    try await session.session(at: client) { token in _ = try await client.exchange("PUT", "/v1/me/pin", token: token, body: ["pin": new]) }
                }
                if options.json { try Terminal.json(["changed": true]) } else { Terminal.line("Your PIN is changed.") }
            }
        }
    }

    struct Accesses: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "accesses", abstract: "Who looked at your record, when, and for what purpose.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials

        func run() async throws {
            try await Terminal.report {
                let accesses = try await options.perform { vault in
                    try await vault.selfService.myAccesses(by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await credentials.session(at: client) { token in try await client.send("GET", "/v1/me/accesses", token: token, as: [RecordAccess].self) }
                }
                if options.json {
                    try Terminal.json(["accesses": accesses])
                } else if accesses.isEmpty {
                    Terminal.line("No staff member has accessed your record, and no sign-in with your card has failed.")
                } else {
                    for line in Rendering.accessLines(accesses) { Terminal.line(line) }
                }
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "history", abstract: "Your reading history (kept only if you chose history: keep).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials

        func run() async throws {
            try await Terminal.report {
                let loans = try await options.perform { vault in
                    try await vault.selfService.myHistory(by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await credentials.session(at: client) { token in try await client.send("GET", "/v1/me/history", token: token, as: [Loan].self) }
                }
                if options.json {
                    try Terminal.json(["history": loans])
                } else if loans.isEmpty {
                    Terminal.line("No returned loans in your reading history (it is kept only if you chose to keep it).")
                } else {
                    for loan in loans { Terminal.line(Rendering.loanText(loan)) }
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export",
            abstract: "Write everything the library holds about you to a new folder: JSON, a printable page, and a signed manifest.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials
        @Option(name: .long, help: "A folder that does not exist yet, or is empty.") var out: String

        func run() async throws {
            try await Terminal.report {
                let target = URL(fileURLWithPath: out, isDirectory: true)
                try ExportBundle.checkTarget(target)
                let bundle = try await options.perform { vault in
                    try await vault.selfService.exportMyData(by: try await credentials.principal(in: vault))
                } remote: { client in
                    let archive = try await credentials.session(at: client) { token in try await client.exchange("GET", "/v1/me/export", token: token) }
                    // The tar holds the bundle under patron-data/; nothing else is accepted.
                    let files = try TarArchive.files(in: Array(archive.body)).map { file in
                        guard file.name.hasPrefix("patron-data/") else { throw CommandFailure(.integrityFailure, "the daemon's export holds a file outside patron-data/") }
                        return (name: String(file.name.dropFirst("patron-data/".count)), contents: file.contents)
                    }
                    return try ExportBundle(received: files)
                }
                try bundle.write(to: target)
                if options.json {
                    try Terminal.json(ExportWritten(out: target.path, files: bundle.files.map(\.name), recordSet: bundle.manifest.recordSet.value, exportKey: bundle.manifest.exportKey))
                } else {
                    Terminal.line("Your data is in \(target.path): open \(ExportBundle.pageFileName) in a browser to read or print it.")
                    Terminal.line("Check it with: patronvault export verify \(target.path) --export-key \(bundle.manifest.exportKey)")
                }
            }
        }
    }

    struct PurgeHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge-history",
            abstract: "Destroy your reading history, or the part returned before a date; the anonymous statistics stay as they are.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials
        @Option(name: .long, help: "Only loans returned before this day (YYYY-MM-DD).") var before: String?

        func run() async throws {
            try await Terminal.report {
                let day = try CalendarDay.option(before, name: "--before")
                let change = try await options.perform { vault in
                    try await vault.selfService.purgeHistory(before: day, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await credentials.session(at: client) { token in
                        try await client.send("POST", "/v1/me/history/purge", token: token, body: ["before": day?.description], as: HistoryChange.self)
                    }
                }
                if options.json { try Terminal.json(change) } else { Terminal.line(Rendering.historyChangeText(change)) }
            }
        }
    }

    struct SetHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-history",
            abstract: "Choose whether returned loans are kept as your reading history (keep) or destroyed when they come back (discard).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials
        @Argument(help: "keep or discard.") var preference: String
        @Flag(name: .long, help: "Confirm discard: it destroys all history kept so far, at once.") var yes = false

        func run() async throws {
            try await Terminal.report {
                guard let choice = HistoryPreference(rawValue: preference) else {
                    throw ValidationError("the history choice must be keep or discard")
                }
                try Terminal.requireConfirmation(yes || choice == .keep, "discard destroys every loan in your reading history at once")
                let change = try await options.perform { vault in
                    try await vault.selfService.setHistory(choice, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await credentials.session(at: client) { token in
                        try await client.send("PUT", "/v1/me/history-preference", token: token, body: HistoryChoice(history: choice.rawValue, confirm: yes), as: HistoryChange.self)
                    }
                }
                if options.json { try Terminal.json(change) } else { Terminal.line(Rendering.historyChangeText(change)) }
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "erase",
            abstract: "Erase your account: every record and key destroyed, refused while you have items out or owe a fee. Prints a receipt to keep.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: PatronCredentials
        @Flag(name: .long, help: "Confirm: erasure cannot be undone.") var yes = false

        func run() async throws {
            try await Terminal.report {
                try Terminal.requireConfirmation(yes, "erasing your account destroys everything the library holds about you")
                let receipt = try await options.perform { vault in
                    try await vault.selfService.eraseMe(by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await credentials.session(at: client) { token in
                        try await client.send("POST", "/v1/me/erase", token: token, body: ["confirm": true], as: ErasureReceipt.self)
                    }
                }
                if options.json { try Terminal.json(receipt) } else { Terminal.line(Rendering.receiptText(receipt, whose: "Your")) }
            }
        }
    }

    private struct ExportWritten: Encodable {
        let out: String
        let files: [String]
        let recordSet: String
        let exportKey: String
    }
}

/// The daemon's history-choice body: discard must be confirmed, as `--yes` confirms it here.
private struct HistoryChoice: Encodable, Sendable {
    let history: String
    let confirm: Bool
}
