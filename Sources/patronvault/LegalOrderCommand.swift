import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultCrypto
import PatronVaultFrontEnd

extension LegalOrder.Scope: ExpressibleByArgument {}

struct LegalOrderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "legal-order",
        abstract: "Legal orders: filed by a privacy officer, approved by a second person, disclosed once within their scope and window.",
        discussion: """
            Records are released only under a lawful order reviewed by the privacy officer. Every \
            step is recorded; the patron sees the steps among their accesses, after the \
            delayed-notice day if the order set one.
            """,
        subcommands: [File.self, Approve.self, Disclose.self, List.self, Verify.self])

    struct File: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "file", abstract: "File a legal order about a patron (privacy officers).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long, help: "The order's reference, as written on it.") var reference: String
        @Option(name: .long, help: "The patron's card barcode.") var patron: String
        @Option(name: .long, help: "What it reaches: history, registration or all.") var scope: LegalOrder.Scope
        @Option(name: .long, help: "First day of the records it covers (YYYY-MM-DD).") var from: String
        @Option(name: .long, help: "Last day of the records it covers (YYYY-MM-DD).") var to: String
        @Option(name: .long, help: "Last day the order may be used (YYYY-MM-DD).") var expires: String
        @Option(name: .long, help: "The patron is not told before this day (YYYY-MM-DD), when the order says so.") var delayNoticeUntil: String?

        func run() async throws {
            try await Terminal.report {
                let filing = LegalOrderFiling(
                    reference: reference, card: patron, scope: scope, from: try CalendarDay(parsing: from, field: "--from"),
                    to: try CalendarDay(parsing: to, field: "--to"), expires: try CalendarDay(parsing: expires, field: "--expires"),
                    delayNoticeUntil: try CalendarDay.option(delayNoticeUntil, name: "--delay-notice-until"))
                guard filing.from <= filing.to else { throw ValidationError("--to is before --from: the order's window ends before it starts") }
                let order = try await options.perform { vault in
                    try await vault.legalOrders.file(filing, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send(
                        "POST", "/v1/legal-orders", token: credentials.token(),
                        body: LegalOrderFilingBody(reference: reference, card: patron, scope: scope.rawValue, from: from, to: to, expires: expires, delayNoticeUntil: delayNoticeUntil),
                        as: LegalOrder.self)
                }
                if options.json { return try Terminal.json(order) }
                Terminal.line("Filed legal order \(order.id) (\(order.scope.rawValue), \(order.from) to \(order.to), expires \(order.expires)).")
                Terminal.line("A second person (an admin or another privacy officer) must approve it: patronvault legal-order approve \(order.id)")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "approve", abstract: "Approve a filed order, as the second person (an admin or another privacy officer; never its filer).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "The order id (LO-…).") var id: String

        func run() async throws {
            try await Terminal.report {
                let order = try await options.perform { vault in
                    try await vault.legalOrders.approve(id: id, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("POST", "/v1/legal-orders/\(DaemonClient.segment(id))/approve", token: credentials.token(), as: LegalOrder.self)
                }
                if options.json { return try Terminal.json(order) }
                Terminal.line("Approved legal order \(order.id); it permits one disclosure until \(order.expires).")
            }
        }
    }

    struct Disclose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "disclose", abstract: "Write the signed bundle an approved order covers, and close the order (privacy officers).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Argument(help: "The order id (LO-…).") var id: String
        @Option(name: .long, help: "A folder that does not exist yet, or is empty.") var out: String

        func run() async throws {
            try await Terminal.report {
                let target = URL(fileURLWithPath: out, isDirectory: true)
                try LegalDisclosure.checkTarget(target)
                let files = try await options.perform { vault in
                    try await vault.legalOrders.disclose(id: id, by: try await credentials.principal(in: vault)).files
                } remote: { client in
                    let archive = try await client.exchange("POST", "/v1/legal-orders/\(DaemonClient.segment(id))/disclosure", token: credentials.token())
                    // The tar holds the disclosure under disclosure/; nothing else is accepted.
                    return try TarArchive.files(in: Array(archive.body)).map { file in
                        guard file.name.hasPrefix("disclosure/") else { throw CommandFailure(.integrityFailure, "the daemon's disclosure holds a file outside disclosure/") }
                        return (name: String(file.name.dropFirst("disclosure/".count)), bytes: file.contents)
                    }
                }
                try LegalDisclosure.write(files, to: target)
                // What was written is checked as its recipient will check it, with the key the manifest names.
                let exportKey = try LegalDisclosure.exportKey(in: target)
                let manifest = try LegalDisclosure.verify(directory: target, key: exportKey)
                if options.json { return try Terminal.json(manifest) }
                Terminal.line("Disclosed under \(manifest.order) to \(out): \(LegalDisclosure.dataFileName) (\(manifest.bytes) bytes), signed by the export key \(exportKey.hex).")
                Terminal.line("The order is closed. Whoever receives the folder checks it with: patronvault legal-order verify \(out) --export-key KEY (KEY from 'patronvault export key').")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List legal orders and where each stands (privacy officers and admins).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials

        func run() async throws {
            try await Terminal.report {
                let listed = try await options.perform { vault in
                    try await vault.legalOrders.list(by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("GET", "/v1/legal-orders", token: credentials.token(), as: [String: [ListedLegalOrder]].self)["orders"] ?? []
                }
                if options.json { return try Terminal.json(["orders": listed]) }
                if listed.isEmpty { return Terminal.line("No legal orders.") }
                for (order, status) in listed.map({ ($0.order, $0.status) }) {
                    let notice = order.delayNoticeUntil.map { ", notice delayed until \($0)" } ?? ""
                    Terminal.line("\(order.id)  \(status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(order.scope.rawValue) \(order.from)…\(order.to), expires \(order.expires)\(notice)  ref \(order.reference)")
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify",
            abstract: "Check a disclosure folder against the vault's public export key (no token, no vault needed with --export-key).")
        @OptionGroup var options: VaultOptions
        @Argument(help: "The disclosure folder.") var folder: String
        @Option(name: .long, help: "The export key (64 hex digits, from 'patronvault export key'); default: this vault's.") var exportKey: String?

        func run() async throws {
            try await Terminal.report {
                let keys = try await ExportCommand.Verify.keys(exportKey, options: options)
                let manifest = try ExportCommand.Verify.firstPassing(keys) { key in
                    try LegalDisclosure.verify(directory: URL(fileURLWithPath: folder, isDirectory: true), key: key)
                }
                if options.json { return try Terminal.json(manifest) }
                Terminal.line("The disclosure under \(manifest.order) of \(manifest.createdAt) verifies: signed by the export key, nothing changed or added.")
            }
        }
    }
}
