import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PatronVaultCore
import PatronVaultPostgres
import Synchronization

/// Issue 15's rows: the same vault work on the embedded SQLite files and on a PostgreSQL pair,
/// in one run on one machine: ingest, return with shred, and audited lookups through the release
/// daemon under `wrk`; then two daemons on the one PostgreSQL pair under a mixed load of lookups,
/// checkouts and returns from this benchmark's own clients (which count every answer), after which
/// the trail is verified and its entries counted against the answers.
///
/// Run beside a cluster: `Tests/with-postgres .build/release/patronvault-bench --postgres
/// [--patrons 2000] [--returns 500] [--daemon-seconds 20] [--mixed-seconds 60] [--daemon-connections 16]`.
enum PostgresBenchmark {
    static func run(
        library: SyntheticLibrary, policies: URL, returns: Int, lookupSeconds: Int, mixedSeconds: Int, connections: Int, in workspace: URL
    ) async throws {
        guard let server = PostgresTestCluster.server else {
            throw BenchmarkFailure(message: "no PostgreSQL server: run under Tests/with-postgres, which sets PATRONVAULT_TEST_POSTGRES")
        }
        let passwordFile = PostgresTestCluster.passwordFile
        let policySet = try Vault.loadPolicies(from: policies)
        print("PostgreSQL beside SQLite: \(library.patrons) patrons with \(library.loansPerPatron) loans each; PostgreSQL on 127.0.0.1 (fsync on), both in this run")

        var figures: [String: (ingest: Double, returns: Double, token: String, setup: DaemonSetup)] = [:]
        for backend in ["sqlite", "postgres"] {
            let folder = workspace.appendingPathComponent("\(backend)-vault")
            let keyFile = workspace.appendingPathComponent("\(backend).key")
            var setup = DaemonSetup(arguments: ["--vault", folder.path, "--key-file", keyFile.path, "--policies", policies.path])
            var source = VaultStorageSource.embedded
            if backend == "postgres" {
                let names = ["pv_bench_records", "pv_bench_keys"]
                for name in names {
                    try? PostgresDatabases.drop(name, on: server)
                    try PostgresDatabases.create(name, on: server)
                }
                let configuration = PostgresStorageConfiguration(records: server.with(database: names[0]), keys: server.with(database: names[1]))
                source = PostgresStorage.source(configuration)
                let base = "postgres://\(server.user)@\(server.host):\(server.port)"
                setup.arguments += ["--storage", "postgres", "--records-url", "\(base)/\(names[0])", "--keys-url", "\(base)/\(names[1])"]
                if let passwordFile { setup.arguments += ["--records-password-file", passwordFile, "--keys-password-file", passwordFile] }
            }
            let (vault, admin) = try await Vault.initialize(
                at: folder, masterKey: .keyFile(keyFile), adminName: "bench", policies: policySet, configuration: VaultConfiguration(), storage: source)
            let staff = try await vault.signIn.staff(token: admin.token)
            let ingest = try await seconds {
                for start in stride(from: 0, to: library.patrons, by: 1_000) {
                    let batch = (start..<min(library.patrons, start + 1_000)).map { i in
                        PatronImport(registration: library.registration(i), loans: (0..<library.loansPerPatron).map { library.loan(i, $0) })
                    }
                    _ = try await vault.desk.importPatrons(batch, by: staff)
                }
            }
            // Discard patrons (odd numbers) return their first loan: the record and its key destroyed.
            let discarders = (0..<min(returns, library.patrons / 2)).map { library.item(patron: 2 * $0 + 1, loan: 0) }
            let returning = try await seconds {
                for item in discarders { _ = try await vault.desk.returnItem(item, by: staff) }
            }
            await vault.close()
            figures[backend] = (Double(library.patrons) / ingest, Double(discarders.count) / returning, admin.token, setup)
        }
        guard let sqlite = figures["sqlite"], let postgres = figures["postgres"] else { return }
        func row(_ label: String, _ sqliteRate: Double, _ postgresRate: Double, _ unit: String) {
            print(label.padding(toLength: 40, withPad: " ", startingAt: 0) + "SQLite " + BenchmarkReport.format(sqliteRate).leftPadded(8) + unit
                + "   PostgreSQL " + BenchmarkReport.format(postgresRate).leftPadded(8) + unit
                + "   " + String(format: "%.2f", postgresRate / sqliteRate) + "×")
        }
        row("ingest (import, patrons with loans)", sqlite.ingest, postgres.ingest, "/s")
        row("return with shred (core, one at a time)", sqlite.returns, postgres.returns, "/s")

        let cards = (0..<library.patrons).map { library.card($0) }
        var lookups: [String: DaemonBenchmark.Figures] = [:]
        for (name, backend) in [("sqlite", sqlite), ("postgres", postgres)] {
            let daemon = try DaemonProcess(backend.setup)
            defer { daemon.stop() }
            lookups[name] = try DaemonBenchmark.lookups(base: daemon.base, cards: cards, token: backend.token, seconds: lookupSeconds, connections: connections, in: workspace)
        }
        if let onSQLite = lookups["sqlite"], let onPostgres = lookups["postgres"] {
            row("audited lookup through the daemon (wrk)", onSQLite.rate, onPostgres.rate, "/s")
            print("  p99 SQLite \(onSQLite.p99), PostgreSQL \(onPostgres.p99); errors \(onSQLite.errors) and \(onPostgres.errors)")
        }

        // Two daemons on the one PostgreSQL pair, under lookups, checkouts and returns.
        let daemons = [try DaemonProcess(postgres.setup), try DaemonProcess(postgres.setup)]
        // Only what the mixed run left is counted against its answers (the trail's times are
        // the system clock's, which the vault runs on).
        let mixedStart = Date()
        let mixed = try MixedLoad.run(
            bases: daemons.map(\.base), token: postgres.token, cards: cards, returnable: (0..<(library.patrons / 2)).map { library.item(patron: 2 * $0 + 1, loan: 1) },
            seconds: mixedSeconds, clients: connections)
        for daemon in daemons { daemon.stop() }
        let vault = try await Vault.open(
            at: workspace.appendingPathComponent("postgres-vault"), masterKey: .keyFile(workspace.appendingPathComponent("postgres.key")), policies: policySet,
            configuration: VaultConfiguration(), storage: postgresSource(postgres.setup, server: server))
        let staff = try await vault.signIn.staff(token: postgres.token)
        let verification = try await vault.oversight.verifyAudit(against: nil, by: staff)
        let recorded = try await vault.oversight.auditLog(AuditLogFilter(since: mixedStart), by: staff).filter { $0.frontEnd == "daemon" }
        await vault.close()
        let counts = Dictionary(grouping: recorded, by: \.action).mapValues(\.count)
        let lookupsRecorded = counts["patron.read"] ?? 0
        let operations = lookupsRecorded + (counts["loan.checkout"] ?? 0) + (counts["loan.return"] ?? 0)
        print("two daemons on one PostgreSQL pair, \(mixed.seconds) s of mixed load from \(mixed.clients) clients: "
            + "\(BenchmarkReport.format(Double(mixed.answered) / Double(mixed.seconds)))/s answered, \(mixed.errors) errors")
        print("  \(mixed.answered) answered (\(mixed.lookups) lookups, \(mixed.checkouts) checkouts, \(mixed.returns) returns); the trail records \(operations) operations "
            + "(\(lookupsRecorded) lookups, \(counts["loan.checkout"] ?? 0) checkouts, \(counts["loan.return"] ?? 0) returns); audit verify: \(verification.isIntact ? "intact" : "BROKEN"), \(verification.entryCount) entries")
    }

    private static func postgresSource(_ setup: DaemonSetup, server: PostgresLocation) -> VaultStorageSource {
        let configuration = PostgresStorageConfiguration(records: server.with(database: "pv_bench_records"), keys: server.with(database: "pv_bench_keys"))
        return PostgresStorage.source(configuration)
    }
}

/// How to start a daemon over one benchmark vault.
struct DaemonSetup {
    var arguments: [String]
}

/// A release `patronvaultd` started for a benchmark, stopped with SIGTERM.
final class DaemonProcess {
    let process = Process()
    let base: String

    init(_ setup: DaemonSetup) throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("patronvaultd")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw BenchmarkFailure(message: "build the daemon in release beside the benchmark: swift build -c release --product patronvaultd")
        }
        process.executableURL = binary
        process.arguments = setup.arguments + ["--port", "0"]
        process.environment = ["PATH": "/usr/bin:/bin", "PATRONVAULT_LOG_LEVEL": "error"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let range = line.range(of: "listening on ") else {
            process.terminate()
            throw BenchmarkFailure(message: "patronvaultd did not start")
        }
        base = line[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}

/// Clients that each loop over a lookup, a checkout of a new item and a return of an item lent
/// before the run, spread over the daemons, counting every answer and every failure.
enum MixedLoad {
    struct Outcome {
        let seconds: Int
        let clients: Int
        let answered: Int
        let lookups: Int
        let checkouts: Int
        let returns: Int
        let errors: Int
    }

    static func run(bases: [String], token: String, cards: [String], returnable: [String], seconds: Int, clients: Int) throws -> Outcome {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.httpMaximumConnectionsPerHost = clients
        let session = URLSession(configuration: configuration)
        let tally = Tally()
        let deadline = Date().addingTimeInterval(Double(seconds))
        @Sendable func loop(_ client: Int) {
            var round = 0
            while Date() < deadline {
                let base = bases[(client + round) % bases.count]
                let card = cards[(client * 7919 + round * 31) % cards.count]
                var steps: [(path: String, body: [String: Any], kind: Int)] = [
                    ("/v1/patrons/lookup", ["card": card, "purpose": "circulation"], 0),
                    ("/v1/loans", ["card": card, "item": "MIX-\(client)-\(round)", "title": "Mixed Load \(round)"], 1),
                ]
                let index = tally.nextReturn.add(1, ordering: .relaxed).oldValue
                if index < returnable.count { steps.append(("/v1/loans/return", ["item": returnable[index]], 2)) }
                for step in steps {
                    let ok = post(session, base + step.path, token: token, body: step.body)
                    tally.counts.withLock { counts in
                        counts[step.kind] += 1
                        if !ok { counts[3] += 1 }
                    }
                }
                round += 1
            }
        }
        // One thread a client: concurrentPerform would run only as many as there are cores.
        let group = DispatchGroup()
        for client in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                loop(client)
            }
        }
        group.wait()
        let final = tally.counts.withLock { $0 }
        return Outcome(
            seconds: seconds, clients: clients, answered: final[0] + final[1] + final[2], lookups: final[0], checkouts: final[1], returns: final[2],
            errors: final[3])
    }

    /// What the clients share: lookups, checkouts, returns and answers other than 2xx; and the
    /// next item lent before the run to return.
    private final class Tally: Sendable {
        let counts = Mutex<[Int]>([0, 0, 0, 0])
        let nextReturn = Atomic<Int>(0)
    }

    /// One POST, waited for; true for a 2xx answer.
    private static func post(_ session: URLSession, _ url: String, token: String, body: [String: Any]) -> Bool {
        guard let target = URL(string: url), let data = try? JSONSerialization.data(withJSONObject: body) else { return false }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.httpBody = data
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let done = DispatchSemaphore(value: 0)
        let status = Atomic<Int>(0)
        session.dataTask(with: request) { _, response, _ in
            status.store((response as? HTTPURLResponse)?.statusCode ?? 0, ordering: .relaxed)
            done.signal()
        }.resume()
        done.wait()
        return (200..<300).contains(status.load(ordering: .relaxed))
    }
}
