import Foundation
import GRDB
import PatronVaultCore

/// `patronvault-bench [--patrons N] [--loans-per-patron N] [--lookups N] [--returns N]`
/// Prints each vault operation's rate beside the same operation on plain SQLite, measured in
/// this run. Build in release: `swift run -c release patronvault-bench`.
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
    let perSecond = Double(count) / time
    return perSecond >= 10_000 ? String(format: "%.0f K", perSecond / 1000) : String(format: "%.0f", perSecond)
}

func row(_ label: String, _ count: Int, vault: Double, plain: Double) {
    let ratio = (Double(count) / vault) / (Double(count) / plain)
    print("\(label.padding(toLength: 34, withPad: " ", startingAt: 0))\(rate(count, vault).leftPadded(10))/s \(rate(count, plain).leftPadded(10))/s \(String(format: "%8.2f", ratio))×")
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

let settings = BenchmarkSettings(
    library: SyntheticLibrary(patrons: argument("--patrons", default: 20_000), loansPerPatron: argument("--loans-per-patron", default: 4)),
    lookups: argument("--lookups", default: 20_000),
    returns: argument("--returns", default: 2_000),
    auditEntries: argument("--audit-entries", default: 1_000_000),
    batchSize: argument("--batch", default: 1_000),
    policyDirectory: URL(fileURLWithPath: ProcessInfo.processInfo.environment["PATRONVAULT_POLICIES"] ?? "Policies", isDirectory: true))

let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("patronvault-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: workspace) }

do {
    // Off the main actor, as a server's request handlers are.
    try await settings.run(in: workspace)
} catch let error as VaultError {
    FileHandle.standardError.write(Data("patronvault-bench: \(error.message)\n".utf8))
    exit(1)
}
