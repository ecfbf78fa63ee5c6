import Foundation
import Synchronization
import PatronVaultCore

/// Issue 13's limits, measured with `wrk` (Debian) against the release `patronvaultd` built
/// beside this benchmark, on loopback: audited staff lookups by card (a random card a request)
/// beside the same server's `/health`, which does no vault work (the server's own ceiling), in
/// the same run. Target: lookups at ≥ 0.5× the plain endpoint, p99 ≤ 10 ms, no errors, resident
/// memory flat. `patronvault-bench --daemon [--daemon-seconds 30] [--daemon-connections 16]
/// [--patrons 2000]`.
enum DaemonBenchmark {
    struct Figures {
        let rate: Double
        let p50: String
        let p99: String
        let errors: Int
    }

    /// `soakSeconds` > 0 then keeps the lookups going that long in 30-second slices, printing the
    /// daemon's resident memory and the rate after each, to show whether memory stays flat.
    ///
    /// `duringBackup` then runs the lookups once more while `patronvault backup create` (the
    /// release CLI beside the benchmark) copies the vault, and prints their figures beside the
    /// backup's size and time (issue 14: the lookup p99 during a backup).
    static func run(
        library: SyntheticLibrary, policies: URL, seconds: Int, connections: Int, soakSeconds: Int = 0, duringBackup: Bool = false, in workspace: URL
    ) async throws {
        let directory = Bundle.main.bundleURL
        let daemonBinary = directory.appendingPathComponent("patronvaultd")
        guard FileManager.default.isExecutableFile(atPath: daemonBinary.path) else {
            throw BenchmarkFailure(message: "build the daemon in release beside the benchmark: swift build -c release --product patronvaultd")
        }
        guard let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw BenchmarkFailure(message: "wrk is not installed: apt-get install -y wrk")
        }
        let vaultDirectory = workspace.appendingPathComponent("daemon-vault")
        let keyFile = workspace.appendingPathComponent("daemon.key")
        let (vault, admin) = try await Vault.initialize(
            at: vaultDirectory, masterKey: .keyFile(keyFile), adminName: "bench", policies: try Vault.loadPolicies(from: policies))
        let staff = try await vault.signIn.staff(token: admin.token)
        for start in stride(from: 0, to: library.patrons, by: 1_000) {
            let batch = (start..<min(library.patrons, start + 1_000)).map { i in
                PatronImport(registration: library.registration(i), loans: (0..<library.loansPerPatron).map { library.loan(i, $0) })
            }
            _ = try await vault.desk.importPatrons(batch, by: staff)
        }
        await vault.close()

        let daemon = Process()
        daemon.executableURL = daemonBinary
        daemon.arguments = ["--vault", vaultDirectory.path, "--key-file", keyFile.path, "--policies", policies.path, "--port", "0"]
        daemon.environment = ["PATH": "/usr/bin:/bin", "PATRONVAULT_LOG_LEVEL": "error"]
        let output = Pipe()
        daemon.standardOutput = output
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            kill(daemon.processIdentifier, SIGTERM)
            daemon.waitUntilExit()
        }
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let range = line.range(of: "listening on ") else { throw BenchmarkFailure(message: "patronvaultd did not start") }
        let base = line[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)

        // One request a card, chosen at random, with the token in the header.
        let cards = (0..<library.patrons).map { "\"\(library.card($0))\"" }.joined(separator: ",")
        let script = workspace.appendingPathComponent("lookup.lua")
        try """
            local cards = {\(cards)}
            request = function()
              local card = cards[math.random(#cards)]
              return wrk.format("GET", "/v1/patrons/" .. card .. "?purpose=circulation", {["Authorization"] = "Bearer \(admin.token)"})
            end
            """.write(to: script, atomically: true, encoding: .utf8)

        let report = "Daemon: release patronvaultd on loopback, wrk -t2 -c\(connections) -d\(seconds)s --latency, both in this run (wrk shares the 2 cores)"
        print(report)
        // A short warm-up, so both sides start with the server's threads and caches up.
        _ = try wrkRun(wrk, ["-t2", "-c\(connections)", "-d2s", "\(base)/health"])
        let plain = try parse(wrkRun(wrk, ["-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "\(base)/health"]))
        let rssBefore = residentKilobytes(daemon.processIdentifier)
        let lookups = try parse(wrkRun(wrk, ["-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script.path, base]))
        let rssAfter = residentKilobytes(daemon.processIdentifier)
        func row(_ label: String, _ figures: Figures) -> String {
            label.padding(toLength: 46, withPad: " ", startingAt: 0) + BenchmarkReport.format(figures.rate).leftPadded(9) + "/s"
                + "  p50 \(figures.p50)  p99 \(figures.p99)  errors \(figures.errors)"
        }
        print(row("GET /health (no vault work)", plain))
        print(row("staff lookup by card (audited, 2 entries)", lookups))
        print("  ratio \(String(format: "%.2f", lookups.rate / plain.rate))× the plain endpoint; resident memory \(rssBefore / 1024) MiB before the lookups, \(rssAfter / 1024) MiB after")
        if duringBackup {
            try backupUnderLoad(
                wrk: wrk, base: base, script: script, connections: connections, seconds: seconds, vault: vaultDirectory, keyFile: keyFile, policies: policies,
                token: admin.token, in: workspace, row: row)
        }
        guard soakSeconds > 0 else { return }
        var slices: [String] = []
        for _ in 0..<max(1, soakSeconds / 30) {
            let slice = try parse(wrkRun(wrk, ["-t2", "-c\(connections)", "-d30s", "--latency", "-s", script.path, base]))
            slices.append("\(residentKilobytes(daemon.processIdentifier) / 1024) MiB (\(BenchmarkReport.format(slice.rate))/s, \(slice.errors) errors)")
        }
        print("  soak, lookups for \(slices.count * 30) s more; resident memory after each 30 s: " + slices.joined(separator: ", "))
    }

    /// Lookups for `seconds` with a backup started five seconds in; the backup's own time and size.
    private static func backupUnderLoad(
        wrk: String, base: String, script: URL, connections: Int, seconds: Int, vault: URL, keyFile: URL, policies: URL, token: String,
        in workspace: URL, row: (String, Figures) -> String
    ) throws {
        let cli = Bundle.main.bundleURL.appendingPathComponent("patronvault")
        guard FileManager.default.isExecutableFile(atPath: cli.path) else {
            throw BenchmarkFailure(message: "build the CLI in release beside the benchmark: swift build -c release --product patronvault")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: vault.appendingPathComponent("vault.db").path)[.size] as? Int) ?? 0
        let backup = Process()
        backup.executableURL = cli
        backup.arguments = ["backup", "create", "--out", workspace.appendingPathComponent("backup").path]
        backup.environment = [
            "PATH": "/usr/bin:/bin", "PATRONVAULT_HOME": vault.path, "PATRONVAULT_KEY_FILE": keyFile.path, "PATRONVAULT_POLICIES": policies.path,
            "PATRONVAULT_TOKEN": token,
        ]
        backup.standardOutput = FileHandle.nullDevice
        backup.standardError = FileHandle.nullDevice
        // The backup's time once it ended (negative if it failed), set by the thread that ran it.
        let took = Mutex<Double?>(nil)
        DispatchQueue.global().asyncAfter(deadline: .now() + 5) {
            let started = Date()
            guard (try? backup.run()) != nil else { return took.withLock { $0 = -1 } }
            backup.waitUntilExit()
            took.withLock { $0 = backup.terminationStatus == 0 ? Date().timeIntervalSince(started) : -1 }
        }
        let during = try parse(wrkRun(wrk, ["-t2", "-c\(connections)", "-d\(max(seconds, 15))s", "--latency", "-s", script.path, base]))
        var waited = 0
        while took.withLock({ $0 }) == nil, waited < 6_000 {
            usleep(100_000)
            waited += 1
        }
        guard let seconds = took.withLock({ $0 }), seconds >= 0 else { throw BenchmarkFailure(message: "the backup did not complete") }
        print(row("the same lookups while a backup runs", during))
        print("  backup of a \(size / 1_048_576) MiB vault.db (and keys.db) took \(String(format: "%.1f", seconds)) s, holding the write lock; the lookups wait for it")
    }

    /// Audited lookups by a random card a request, through the daemon at `base`, under `wrk`.
    static func lookups(base: String, cards: [String], token: String, seconds: Int, connections: Int, in workspace: URL) throws -> Figures {
        guard let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw BenchmarkFailure(message: "wrk is not installed: apt-get install -y wrk")
        }
        let script = workspace.appendingPathComponent("lookup-\(UUID().uuidString).lua")
        try """
            local cards = {\(cards.map { "\"\($0)\"" }.joined(separator: ","))}
            request = function()
              local card = cards[math.random(#cards)]
              return wrk.format("GET", "/v1/patrons/" .. card .. "?purpose=circulation", {["Authorization"] = "Bearer \(token)"})
            end
            """.write(to: script, atomically: true, encoding: .utf8)
        _ = try wrkRun(wrk, ["-t2", "-c\(connections)", "-d2s", "-s", script.path, base])
        return try parse(wrkRun(wrk, ["-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script.path, base]))
    }

    private static func wrkRun(_ wrk: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }

    /// Requests/sec, the 50th and 99th percentile latencies, and non-2xx answers plus socket errors.
    private static func parse(_ text: String) throws -> Figures {
        var rate = 0.0
        var p50 = "?"
        var p99 = "?"
        var errors = 0
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), fields.count >= 2 { rate = Double(fields[1]) ?? 0 }
            if line.hasPrefix("50%"), fields.count >= 2 { p50 = String(fields[1]) }
            if line.hasPrefix("99%"), fields.count >= 2 { p99 = String(fields[1]) }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let count = fields.last.flatMap({ Int($0) }) { errors += count }
            if line.hasPrefix("Socket errors:") {
                for part in line.dropFirst("Socket errors:".count).split(separator: ",") {
                    errors += Int(part.split(separator: " ").last ?? "") ?? 0
                }
            }
        }
        guard rate > 0 else { throw BenchmarkFailure(message: "wrk reported no requests") }
        return Figures(rate: rate, p50: p50, p99: p99, errors: errors)
    }

    private static func residentKilobytes(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
}
