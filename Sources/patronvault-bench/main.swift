import Foundation
import GRDB
import PatronVaultCore

/// `patronvault-bench [--quick] [--json] [--patrons N] [--loans-per-patron N] [--lookups N] [--returns N]
/// [--audit-entries N] [--retention-loans N] [--batch N]`, or `patronvault-bench --daemon` for the
/// daemon under `wrk` (`DaemonBenchmark`), or `patronvault-bench --rotation [--rotation-patrons N]` for a master key
/// rotation (`RotationBenchmark`), or `patronvault-bench --postgres` beside `Tests/with-postgres`'s cluster for
/// the PostgreSQL rows (`PostgresBenchmark`).
/// Prints each vault operation's rate beside the same operation on plain SQLite, measured in
/// this run. Build in release: `swift build -c release` (the import row runs the `patronvault`
/// binary built beside the benchmark), then `.build/release/patronvault-bench`.
func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    guard let index = args.firstIndex(of: name), index + 1 < args.count, let parsed = Int(args[index + 1]), parsed > 0 else { return value }
    return parsed
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let elapsed = try ContinuousClock().measure(body)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func rate(_ count: Int, _ time: Double) -> String {
    BenchmarkReport.format(Double(count) / time)
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

let quick = CommandLine.arguments.contains("--quick")
let settings = BenchmarkSettings(
    library: SyntheticLibrary(
        patrons: argument("--patrons", default: quick ? 5_000 : 20_000), loansPerPatron: argument("--loans-per-patron", default: 4)),
    lookups: argument("--lookups", default: quick ? 5_000 : 20_000),
    returns: argument("--returns", default: quick ? 500 : 2_000),
    auditEntries: argument("--audit-entries", default: quick ? 200_000 : 1_000_000),
    retentionLoans: argument("--retention-loans", default: quick ? 50_000 : 1_000_000),
    batchSize: argument("--batch", default: 1_000),
    policyDirectory: URL(fileURLWithPath: ProcessInfo.processInfo.environment["PATRONVAULT_POLICIES"] ?? "Policies", isDirectory: true),
    report: BenchmarkReport(json: CommandLine.arguments.contains("--json")))

let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("patronvault-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: workspace) }

do {
    if CommandLine.arguments.contains("--rotation") {
        try await RotationBenchmark.run(
            patrons: argument("--rotation-patrons", default: 1_000_000), policies: settings.policyDirectory, in: workspace)
    } else if CommandLine.arguments.contains("--postgres") {
        try await PostgresBenchmark.run(
            library: SyntheticLibrary(patrons: argument("--patrons", default: 2_000), loansPerPatron: argument("--loans-per-patron", default: 4)),
            policies: settings.policyDirectory, returns: argument("--returns", default: 500), lookupSeconds: argument("--daemon-seconds", default: 20),
            mixedSeconds: argument("--mixed-seconds", default: 60), connections: argument("--daemon-connections", default: 16), in: workspace)
    } else if CommandLine.arguments.contains("--daemon") {
        try await DaemonBenchmark.run(
            library: SyntheticLibrary(patrons: argument("--patrons", default: 2_000), loansPerPatron: argument("--loans-per-patron", default: 4)),
            policies: settings.policyDirectory, seconds: argument("--daemon-seconds", default: 30),
            connections: argument("--daemon-connections", default: 16), soakSeconds: argument("--daemon-soak", default: 0),
            duringBackup: CommandLine.arguments.contains("--daemon-backup"), in: workspace)
    } else {
        // Off the main actor, as a server's request handlers are.
        try await settings.run(in: workspace)
    }
} catch let error as VaultError {
    FileHandle.standardError.write(Data("patronvault-bench: \(error.message)\n".utf8))
    exit(1)
} catch let error as BenchmarkFailure {
    FileHandle.standardError.write(Data("patronvault-bench: \(error.message)\n".utf8))
    exit(1)
}
