import ArgumentParser
import Foundation
import PatronVaultCore

struct PatronCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patron", abstract: "Register, look up and update patrons (staff).",
        subcommands: [Register.self, Show.self, Find.self, Update.self, ResetPIN.self, History.self, PatronImportCommand.self])

    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a patron. History is discarded unless --history keep.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var card: String
        @Option(name: .long) var name: String
        @Option(name: .long) var email: String
        @OptionGroup var details: RegistrationDetails
        @Option(name: .long, help: "keep or discard (default: discard; history is opt-in)") var history = "discard"
        @Flag(name: .long, help: "Read the patron's new PIN from stdin (without it, no PIN is set).") var pinStdin = false

        func run() throws {
            try Terminal.report {
                guard let preference = HistoryPreference(rawValue: history) else {
                    throw ValidationError("history must be keep or discard")
                }
                let details = try details.update()
                let form = PatronRegistration(
                    cardBarcode: card, fullName: name, email: email, phone: details.phone, postalAddress: details.postalAddress,
                    birthDate: details.birthDate, homeBranch: details.homeBranch, category: details.category,
                    cardExpiry: details.cardExpiry, history: preference)
                // Only an explicit --pin-stdin sets a PIN: a PATRONVAULT_PIN left over from a
                // patron's own session must never become someone else's PIN.
                let pin: [UInt8]? = pinStdin ? try PIN.read(fromStdin: true) : nil
                let vault = try options.openVault()
                try vault.registerPatron(form, pin: pin, by: try credentials.principal(in: vault))
                if options.json {
                    Terminal.json(["registered": true, "history": preference.rawValue, "hasPIN": pin != nil])
                } else {
                    Terminal.line("Registered patron (history: \(preference.rawValue)\(pin == nil ? ", no PIN set" : "")).")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a patron's registration and open loans (never reading history).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long, help: "Why you are looking: circulation, account-help, fines, holds, patron-request.") var purpose: String?

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let profile = try vault.patronProfile(card: card, purpose: purpose, by: try credentials.principal(in: vault))
                if options.json { Terminal.json(Rendering.profile(profile)) } else { Terminal.line(Rendering.profileText(profile)) }
            }
        }
    }

    struct ResetPIN: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-pin",
            abstract: "Set a new PIN for a patron at the desk (account help only); the patron sees it in 'me accesses'.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long, help: "Why: the shipped rules allow only account-help.") var purpose: String?
        @Flag(name: .long, help: "Read the new PIN from stdin (else $PATRONVAULT_PIN).") var pinStdin = false

        func run() throws {
            try Terminal.report {
                let pin = try PIN.read(fromStdin: pinStdin)
                let vault = try options.openVault()
                try vault.resetPIN(card: card, pin: pin, purpose: purpose, by: try credentials.principal(in: vault))
                if options.json { Terminal.json(["reset": true]) } else { Terminal.line("New PIN set; any lockout cleared.") }
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask for a patron's reading history: refused to staff unless an approved legal order covers it.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long, help: "Why you are asking.") var purpose: String?

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let loans = try vault.patronHistory(card: card, purpose: purpose, by: try credentials.principal(in: vault))
                if options.json { Terminal.json(["history": loans.map(Rendering.loan)]) } else {
                    for loan in loans { Terminal.line(Rendering.loanText(loan)) }
                }
            }
        }
    }

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find patrons by exact email or by name.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var email: String?
        @Option(name: .long) var name: String?
        @Option(name: .long, help: "Why you are looking.") var purpose: String?

        func run() throws {
            try Terminal.report {
                let vault = try options.openVault()
                let matches = try vault.findPatrons(email: email, name: name, purpose: purpose, by: try credentials.principal(in: vault))
                if options.json {
                    Terminal.json(["matches": matches.map { ["card": $0.cardBarcode, "name": $0.fullName] }])
                } else if matches.isEmpty {
                    Terminal.line("No patron matches.")
                } else {
                    for m in matches { Terminal.line("\(m.cardBarcode)\t\(m.fullName)") }
                }
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a patron's registration details.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long) var name: String?
        @Option(name: .long) var email: String?
        @OptionGroup var details: RegistrationDetails

        func run() throws {
            try Terminal.report {
                var update = try details.update()
                update.fullName = name
                update.email = email
                let vault = try options.openVault()
                try vault.updatePatron(card: card, with: update, by: try credentials.principal(in: vault))
                if options.json { Terminal.json(["updated": true]) } else { Terminal.line("Updated.") }
            }
        }
    }
}

/// The optional registration fields, shared by `register` and `update`.
struct RegistrationDetails: ParsableArguments {
    @Option(name: .long) var phone: String?
    @Option(name: .long) var address: String?
    @Option(name: .long, help: "YYYY-MM-DD") var birthDate: String?
    @Option(name: .long) var branch: String?
    @Option(name: .long) var category: String?
    @Option(name: .long, help: "Card expiry, YYYY-MM-DD") var expires: String?

    /// The fields as an update; dates are checked here, naming the option when malformed.
    func update() throws -> PatronUpdate {
        var update = PatronUpdate()
        update.phone = phone
        update.postalAddress = address
        update.birthDate = try CalendarDay.option(birthDate, name: "birth date")
        update.homeBranch = branch
        update.category = category
        update.cardExpiry = try CalendarDay.option(expires, name: "expiry date")
        return update
    }
}
