import ArgumentParser
import Foundation
import PatronVaultAudit
import PatronVaultCore

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Verify and read the tamper-evident audit trail (admins and privacy officers).",
        subcommands: [Verify.self, Checkpoint.self, Key.self, Log.self, Exposure.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify",
            abstract: "Recompute the whole trail; exit 0 only if every entry and checkpoint holds.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long, help: "A checkpoint file kept outside the vault (catches a truncated trail).") var checkpoint: String?

        func run() async throws {
            try await Terminal.report {
                let text = try checkpoint.map { path -> String in
                    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("the checkpoint file \(path) cannot be read") }
                    return String(decoding: data, as: UTF8.self)
                }
                let result = try await options.perform { vault in
                    try await vault.oversight.verifyAudit(against: text, by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("POST", "/v1/audit/verify", token: credentials.token(), body: ["checkpoint": text], as: AuditVerification.self)
                }
                if options.json {
                    try Terminal.json(result)
                } else if result.isIntact {
                    Terminal.line("Audit trail intact: \(result.entryCount) entries, \(result.checkpointsVerified) signed checkpoints verified.")
                }
                guard result.isIntact else {
                    let at = result.firstBadSequence.map { " at entry \($0)" } ?? ""
                    throw VaultError.auditBroken("audit trail verification failed\(at): \(result.problem ?? "unknown problem")")
                }
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Sign a checkpoint of the trail now; keep the output outside the vault.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long, help: "Write the checkpoint to this file instead of stdout.") var output: String?

        func run() async throws {
            try await Terminal.report {
                let checkpoint = try await options.perform { vault in
                    try await vault.oversight.auditCheckpoint(by: try await credentials.principal(in: vault))
                } remote: { client in
                    try await client.send("POST", "/v1/audit/checkpoints", token: credentials.token(), as: AuditCheckpoint.self)
                }
                if let output {
                    guard FileManager.default.createFile(atPath: output, contents: Data(checkpoint.text.utf8)) else {
                        throw ValidationError("the checkpoint file \(output) cannot be written")
                    }
                }
                if options.json {
                    try Terminal.json(checkpoint)
                } else if let output {
                    Terminal.line("Checkpoint of \(checkpoint.size) entries written to \(output).")
                } else {
                    print(checkpoint.text, terminator: checkpoint.text.hasSuffix("\n") ? "" : "\n")
                }
            }
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "key", abstract: "Print the public key that signs checkpoints, for an outside verifier.")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials

        func run() async throws {
            try await Terminal.report {
                let key = try await options.withVault { vault in
                    try await vault.oversight.auditVerifyingKey(by: try await credentials.principal(in: vault))
                }
                let encoded = Data(key.bytes).base64EncodedString()
                if options.json { try Terminal.json(["algorithm": "ed25519", "publicKey": encoded]) } else { Terminal.line("ed25519 \(encoded)") }
            }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "List audit entries (pseudonyms, never patrons).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @OptionGroup var window: TimeWindow
        @Option(name: .long, help: "Only this staff account's accesses.") var staff: String?
        @Option(name: .long, help: "Only this action, such as patron.read.") var action: String?
        @Option(name: .long, help: "At most this many entries.") var limit: Int?

        func run() async throws {
            try await Terminal.report {
                let (since, until) = try window.dates()
                let filter = AuditLogFilter(since: since, until: until, staffName: staff, action: action, limit: limit)
                let entries = try await options.perform { vault in
                    try await vault.oversight.auditLog(filter, by: try await credentials.principal(in: vault))
                } remote: { client in
                    let query = DaemonClient.query([
                        "since": since?.formatted(.iso8601), "until": until?.formatted(.iso8601), "staff": staff, "action": action, "limit": limit.map(String.init),
                    ])
                    return try await client.send("GET", "/v1/audit/log\(query)", token: credentials.token(), as: [String: [AuditEntry]].self)["entries"] ?? []
                }
                if options.json {
                    try Terminal.json(["entries": entries])
                } else {
                    for e in entries {
                        let purpose = e.purpose.map { " purpose=\($0)" } ?? ""
                        let patron = e.patron.map { " patron=\($0)" } ?? ""
                        let detail = e.detail.map { "\t\($0)" } ?? ""
                        Terminal.line("\(e.sequence)\t\(Terminal.time(e.time))\t\(e.principalRole):\(e.principalID)\t\(e.action)\(patron)\(purpose)\t\(e.decision.rawValue) \(e.ruleIDs.joined(separator: ","))\(detail)")
                    }
                }
            }
        }
    }

    struct Exposure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "exposure",
            abstract: "List the patrons whose data a staff account or key version touched in a window (for breach notification).")
        @OptionGroup var options: VaultOptions
        @OptionGroup var credentials: StaffCredentials
        @Option(name: .long, help: "The staff account.") var staff: String?
        @Option(name: .long, help: "The master-key version.") var keyVersion: Int?
        @OptionGroup var window: TimeWindow

        func run() async throws {
            try await Terminal.report {
                let (since, until) = try window.dates()
                let patrons = try await options.withVault { vault in
                    try await vault.oversight.auditExposure(
                        staffName: staff, keyVersion: keyVersion, since: since, until: until, by: try await credentials.principal(in: vault))
                }
                if options.json {
                    try Terminal.json(["patrons": patrons])
                } else {
                    for p in patrons { Terminal.line(p.card.map { "\($0)\t\(p.pseudonym)" } ?? p.pseudonym) }
                    Terminal.line("\(patrons.count) patrons")
                }
            }
        }
    }
}

/// A time window on the command line; each end is a day (`YYYY-MM-DD`, midnight UTC) or an
/// ISO 8601 instant.
struct TimeWindow: ParsableArguments {
    @Option(name: .long, help: "From this time (YYYY-MM-DD or ISO 8601), included.") var since: String?
    @Option(name: .long, help: "Up to this time, excluded.") var until: String?

    /// Both ends, checked in order here because only the CLI can name its own options.
    func dates() throws -> (since: Date?, until: Date?) {
        let window = (since: try Self.parse(since, name: "--since"), until: try Self.parse(until, name: "--until"))
        if let start = window.since, let end = window.until, start >= end {
            throw CommandFailure(.invalidInput, "--since must be earlier than --until")
        }
        return window
    }

    private static func parse(_ text: String?, name: String) throws -> Date? {
        guard let text else { return nil }
        if let instant = ISO8601DateFormatter().date(from: text) { return instant }
        guard let day = try? CalendarDay(parsing: text, field: name) else {
            throw ValidationError("\(name) is not a date (YYYY-MM-DD) or an ISO 8601 time")
        }
        return Date(timeIntervalSince1970: Double(day.daysSinceEpoch) * 86_400)
    }
}
