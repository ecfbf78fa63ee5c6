import ArgumentParser
import Foundation
import PatronVaultCore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Apply the retention schedule in Policies/retention.schedule (admins).",
        subcommands: [Run.self, VerifyReceipt.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run",
            abstract: "Show what the schedule would remove (counts per rule, never who); with --confirm, remove it.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Flag(name: .long, help: "Remove what is due. Without it this is a dry run that changes nothing.") var confirm = false
        @Option(name: .long, help: "With --confirm: write a signed receipt of the run to this new file.") var receipt: String?

        func validate() throws {
            if receipt != nil && !confirm { throw ValidationError("--receipt needs --confirm: a dry run removes nothing, so there is nothing to attest") }
        }

        func run() async throws {
            try await Terminal.report {
                let receiptURL = try receipt.map { path in
                    let url = URL(fileURLWithPath: path)
                    guard !FileManager.default.fileExists(atPath: url.path) else {
                        throw CommandFailure(.alreadyExists, "the receipt file \(url.path) already exists; name a new file")
                    }
                    guard FileManager.default.fileExists(atPath: url.deletingLastPathComponent().path) else {
                        throw CommandFailure(.notFound, "the folder \(url.deletingLastPathComponent().path) to write the receipt in does not exist")
                    }
                    return url
                }
                if let client = try options.client {
                    guard receiptURL == nil else {
                        throw CommandFailure(.invalidInput, "--receipt is signed and written on the vault host; run it there without --server")
                    }
                    let token = try credentials.token()
                    try show(
                        confirm
                            ? try await client.send("POST", "/v1/retention/run", token: token, body: ["confirm": true], as: RetentionReport.self)
                            : try await client.send("GET", "/v1/retention", token: token, as: RetentionReport.self))
                    return
                }
                try await options.withVault { vault in
                    let principal = try await credentials.principal(in: vault)
                    guard confirm else {
                        let report = try await vault.retention.preview(by: principal)
                        try show(report)
                        return
                    }
                    let bar = RetentionProgressBar(interactive: !options.json && isatty(STDERR_FILENO) == 1)
                    let report = try await vault.retention.run(by: principal) { bar.show($0) }
                    bar.finish()
                    if let receiptURL {
                        let encoder = JSONEncoder()
                        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                        let bytes = try encoder.encode(try vault.retention.receipt(for: report)) + Data("\n".utf8)
                        guard FileManager.default.createFile(atPath: receiptURL.path, contents: bytes, attributes: [.posixPermissions: 0o644]) else {
                            throw CommandFailure(.storageFailure, "the receipt could not be written to \(receiptURL.path); the run itself completed")
                        }
                    }
                    try show(report)
                }
            }
        }

        private func show(_ report: RetentionReport) throws {
            if options.json {
                try Terminal.json(report)
                return
            }
            if report.resumed { Terminal.line("Continued the run started \(Terminal.time(report.startedAt)), with its cutoffs.") }
            if report.rules.isEmpty { Terminal.line("The retention schedule has no rules: nothing is removed by age.") }
            for rule in report.rules {
                let patrons = rule.kind == "statistics" || rule.kind == "sign-in-failures" ? "" : " of \(rule.patrons) patron\(rule.patrons == 1 ? "" : "s")"
                let verb = report.dryRun ? "due" : "removed"
                let kept = rule.kept > 0 ? "; \(rule.kept) patron\(rule.kept == 1 ? "" : "s") matched but kept (something checked out, or records whose dates were edited)" : ""
                Terminal.line("\(rule.rule) (after \(rule.after), up to \(rule.cutoff)): \(rule.records) record\(rule.records == 1 ? "" : "s")\(patrons) \(verb)\(kept)")
            }
            if report.dryRun {
                Terminal.line("Dry run: nothing was removed. Run again with --confirm to remove what is due.")
            } else if !report.keysDestroyed {
                Terminal.line("Some keys or journal copies could not be destroyed yet (a reader held a journal); the next maintenance pass finishes them.")
            }
        }
    }

    struct VerifyReceipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-receipt", abstract: "Check a retention receipt written with --receipt: its contents and the vault's signature.")
        @OptionGroup var options: VaultOptions
        @Argument(help: "The receipt file.") var file: String
        @Option(name: .long, help: "The public export key in hex; without it, the vault's own is used.") var exportKey: String?

        func run() async throws {
            try await Terminal.report {
                guard let bytes = FileManager.default.contents(atPath: file) else {
                    throw CommandFailure(.notFound, "the receipt \(file) cannot be read")
                }
                let keys = try await ExportCommand.Verify.keys(exportKey, options: options)
                let receipt = try ExportCommand.Verify.firstPassing(keys) { key in try RetentionReceipt.verify(json: Array(bytes), key: key) }
                if options.json {
                    try Terminal.json(["verified": true])
                } else {
                    let total = receipt.receipt.rules.reduce(0) { $0 + $1.records }
                    Terminal.line("Retention receipt verified: signed by this export key, unchanged (\(receipt.receipt.rules.count) rules, \(total) records, finished \(receipt.receipt.finishedAt)).")
                }
            }
        }
    }
}

/// A progress bar on a terminal (redrawn in place on stderr), or a plain line per step when
/// stderr is not a terminal, so a log shows the run advancing.
final class RetentionProgressBar: @unchecked Sendable {
    private let interactive: Bool
    private let lock = NSLock()
    private var last: (rule: String, done: Int)?

    init(interactive: Bool) {
        self.interactive = interactive
    }

    func show(_ event: RetentionProgressEvent) {
        lock.lock()
        defer { lock.unlock() }
        if let last, last.rule == event.rule, last.done == event.done { return }
        last = (event.rule, event.done)
        let expected = max(event.expected, event.done)
        if interactive {
            let width = 30
            let filled = expected == 0 ? width : width * event.done / expected
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r\(event.rule) [\(bar)] \(event.done)/\(expected)\u{1B}[K".utf8))
        } else {
            FileHandle.standardError.write(Data("retention: \(event.rule): \(event.done) of \(expected) removed\n".utf8))
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if interactive && last != nil { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
