import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

struct PatronCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patron", abstract: "Register, look up and update patrons (staff).",
        subcommands: [Register.self, Show.self, Find.self, Update.self, ResetPIN.self, History.self, Export.self, Erase.self, PatronImportCommand.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "register", abstract: "Register a patron. History is discarded unless --history keep.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var card: String
        @Option(name: .long) var name: String
        @Option(name: .long) var email: String
        @OptionGroup var details: RegistrationDetails
        @Option(name: .long, help: "keep or discard (default: discard; history is opt-in)") var history = "discard"
        @Flag(name: .long, help: "Read the patron's new PIN from stdin (without it, no PIN is set).") var pinStdin = false

        /// What a registration reports: never the fields just typed, only the choices made.
        private struct Output: Encodable {
            let registered = true
            let history: HistoryPreference
            let hasPIN: Bool
        }

        func run() async throws {
            try await Terminal.report {
                guard let preference = HistoryPreference(rawValue: history) else {
                    throw ValidationError("history must be keep or discard")
                }
                let details = try details.update()
                let form = PatronRegistration(
                    cardBarcode: card, fullName: name, email: email, phone: details.phone, postalAddress: details.postalAddress,
                    birthDate: details.birthDate, homeBranch: details.homeBranch, category: details.category,
                    cardExpiry: details.cardExpiry, history: preference, notifyBy: details.notifyBy)
                // Only an explicit --pin-stdin sets a PIN: a PATRONVAULT_PIN left over from a
                // patron's own session must never become someone else's PIN.
                let pin: [UInt8]? = pinStdin ? try PIN.read(fromStdin: true) : nil
                try await options.perform { vault in
                    try await vault.desk.registerPatron(form, pin: pin, by: try await credentials.principal(in: vault))
                } remote: { client in
                    let body = RegistrationRequest(document: RegistrationDocument(form), pin: pin.map { String(decoding: $0, as: UTF8.self) })
                    _ = try await client.exchange("POST", "/v1/patrons", token: try credentials.token(), body: body)
                }
                if options.json {
                    try Terminal.json(Output(history: preference, hasPIN: pin != nil))
                } else {
                    Terminal.line("Registered patron (history: \(preference.rawValue)\(pin == nil ? ", no PIN set" : "")).")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show",
            abstract: "Show what the purpose reveals of a patron's registration, open loans and fees (never reading history).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long, help: "Why you are looking: circulation, account-help, fines, holds, patron-request.") var purpose: String?
        @Option(name: .long, help: "Show only these fields (comma-separated, as Policies/schema.pvschema names them), such as what a patron asked to see at the desk.")
        var fields: String?

        func run() async throws {
            try await Terminal.report {
                let asked = fields.map { $0.split(separator: ",").map(String.init) }
                let profile = try await options.perform { vault in
                    try await vault.desk.patronProfile(card: card, purpose: purpose, fields: asked, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send(
                        "POST", "/v1/patrons/lookup", token: try credentials.token(), body: CardLookup(card: card, purpose: purpose, fields: asked),
                        as: PatronView.self)
                }
                if options.json { try Terminal.json(profile) } else { Terminal.line(Rendering.viewText(profile)) }
            }
        }
    }

    struct ResetPIN: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-pin",
            abstract: "Set a new PIN for a patron at the desk (account help only); the patron sees it in 'me accesses'.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long, help: "Why: the shipped rules allow only account-help.") var purpose: String?
        @Flag(name: .long, help: "Read the new PIN from stdin (else $PATRONVAULT_PIN).") var pinStdin = false

        func run() async throws {
            try await Terminal.report {
                let pin = try PIN.read(fromStdin: pinStdin)
                try await options.perform { vault in
                    try await vault.desk.resetPIN(card: card, pin: pin, purpose: purpose, by: try await credentials.principal(in: vault))
                } remote: { client in
                    let body = ["card": card, "pin": String(decoding: pin, as: UTF8.self), "purpose": purpose]
                    _ = try await client.send("POST", "/v1/patrons/pin-reset", token: credentials.token(), body: body, as: [String: Bool].self)
                }
                if options.json { try Terminal.json(["reset": true]) } else { Terminal.line("New PIN set; any lockout cleared.") }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export",
            abstract: "At the patron's request (purpose patron-request), write their export sealed under the PIN they type: you cannot open it.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long, help: "Why: the shipped rules allow only patron-request.") var purpose: String?
        @Option(name: .long, help: "The sealed file to write; it must not exist.") var out: String
        @Flag(name: .long, help: "The patron types their PIN on standard input (else $PATRONVAULT_PIN).") var pinStdin = false

        func run() async throws {
            try await Terminal.report {
                let target = URL(fileURLWithPath: out)
                guard !FileManager.default.fileExists(atPath: target.path) else {
                    throw CommandFailure(.alreadyExists, "the file \(target.path) already exists; name a new file")
                }
                let pin = try PIN.read(fromStdin: pinStdin)
                let sealed = try await options.perform { vault in
                    try await vault.desk.sealedExport(card: card, pin: pin, purpose: purpose, by: try await credentials.principal(in: vault))
                } remote: { client in
                    let body = ["card": card, "pin": String(decoding: pin, as: UTF8.self), "purpose": purpose]
                    return Array(try await client.exchange("POST", "/v1/patrons/sealed-export", token: credentials.token(), body: body).body)
                }
                guard FileManager.default.createFile(atPath: target.path, contents: Data(sealed), attributes: [.posixPermissions: 0o600]) else {
                    throw CommandFailure(.storageFailure, "the sealed export could not be written to \(target.path)")
                }
                if options.json {
                    try Terminal.json(["out": target.path])
                } else {
                    Terminal.line("Sealed export written to \(target.path). Only the patron's PIN opens it: patronvault export open \(target.path) --out DIR")
                }
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "erase",
            abstract: "Erase a patron's account at their request (admins): refused while items are out; prints a receipt for the patron.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Flag(name: .long, help: "Confirm: erasure cannot be undone.") var yes = false

        func run() async throws {
            try await Terminal.report {
                try Terminal.requireConfirmation(yes, "erasing an account destroys everything the library holds about the patron")
                let receipt = try await options.perform { vault in
                    try await vault.desk.erasePatron(card: card, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("POST", "/v1/patrons/erase", token: credentials.token(), body: Erasure(card: card, confirm: true), as: ErasureReceipt.self)
                }
                if options.json { try Terminal.json(receipt) } else { Terminal.line(Rendering.receiptText(receipt, whose: "The patron's")) }
            }
        }
    }

    /// The body of `POST /v1/patrons/erase`.
    struct Erasure: Encodable, Sendable {
        let card: String
        let confirm: Bool
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "history",
            abstract: "Ask for a patron's reading history: refused to staff unless an approved legal order covers it.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long, help: "Why you are asking.") var purpose: String?

        func run() async throws {
            try await Terminal.report {
                let loans = try await options.perform { vault in
                    try await vault.desk.patronHistory(card: card, purpose: purpose, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("GET", "/v1/patrons/\(DaemonClient.segment(card))/history\(DaemonClient.query(["purpose": purpose]))", token: try credentials.token(), as: [Loan].self)
                }
                if options.json { try Terminal.json(["history": loans]) } else {
                    for loan in loans { Terminal.line(Rendering.loanText(loan)) }
                }
            }
        }
    }

    struct Find: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "find", abstract: "Find patrons by exact email or by name.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long) var email: String?
        @Option(name: .long) var name: String?
        @Option(name: .long, help: "Why you are looking.") var purpose: String?

        func run() async throws {
            try await Terminal.report {
                let matches = try await options.perform { vault in
                    try await vault.desk.findPatrons(email: email, name: name, purpose: purpose, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send(
                        "POST", "/v1/patrons/find", token: credentials.token(), body: ["email": email, "name": name, "purpose": purpose],
                        as: [String: [PatronView]].self)["matches"] ?? []
                }
                if options.json {
                    try Terminal.json(["matches": matches])
                } else if matches.isEmpty {
                    Terminal.line("No patron matches.")
                } else {
                    for m in matches { Terminal.line(Rendering.matchText(m)) }
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a patron's registration details.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "Card barcode.") var card: String
        @Option(name: .long) var name: String?
        @Option(name: .long) var email: String?
        @OptionGroup var details: RegistrationDetails

        func run() async throws {
            try await Terminal.report {
                var update = try details.update()
                update.fullName = name
                update.email = email
                try await options.perform { vault in
                    try await vault.desk.updatePatron(card: card, with: update, by: try await credentials.principal(in: vault))
                } remote: { client in
                    let body = [
                        "name": name, "email": email, "phone": details.phone, "address": details.address, "birthDate": details.birthDate,
                        "branch": details.branch, "category": details.category, "expires": details.expires, "notify": details.notify,
                    ]
                    _ = try await client.send("PATCH", "/v1/patrons/\(DaemonClient.segment(card))", token: credentials.token(), body: body, as: [String: Bool].self)
                }
                if options.json { try Terminal.json(["updated": true]) } else { Terminal.line("Updated.") }
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
    @Option(name: .long, help: "How the patron wants hold notices: email (the default), phone or post") var notify: String?

    /// The fields as an update; dates are checked here, naming the option when malformed.
    func update() throws -> PatronUpdate {
        var update = PatronUpdate()
        update.phone = phone
        update.postalAddress = address
        update.birthDate = try CalendarDay.option(birthDate, name: "birth date")
        update.homeBranch = branch
        update.category = category
        update.cardExpiry = try CalendarDay.option(expires, name: "expiry date")
        if let notify {
            guard let channel = NotificationChannel(rawValue: notify) else { throw ValidationError("--notify must be email, phone or post") }
            update.notifyBy = channel
        }
        return update
    }
}

