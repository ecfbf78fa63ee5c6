import Foundation
import GRDB
import PatronVaultPostgres
import Testing

/// Runs the built `patronvault` binary as a user would, in a temporary folder with a fixed clock.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
        }
    }

    let home: URL
    var environment: [String: String]
    let backend: Backend
    /// With PostgreSQL: the records and key databases this vault was given, dropped by `removeHome`.
    let databases: [String]

    /// The shipped policy folder at the top of the repository.
    static var policies: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Policies", isDirectory: true)
    }

    static var binary: URL {
        Bundle.main.bundleURL.appendingPathComponent("patronvault")
    }

    /// A fresh temporary folder; the vault lives in `home/vault`. With PostgreSQL, two new
    /// databases on the test cluster hold its records and keys, named by a configuration file
    /// (`PATRONVAULT_CONFIG`) whose password file is 0600, as an admin would set it up.
    init(now: String = "2026-11-22T10:00:00Z", backend: Backend = .sqlite) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("pv-e2e-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        environment = [
            "PATRONVAULT_HOME": home.appendingPathComponent("vault").path,
            "PATRONVAULT_NOW": now,
            "PATRONVAULT_POLICIES": Self.policies.path,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        self.backend = backend
        guard backend == .postgres else {
            databases = []
            return
        }
        let server = try #require(Backend.server)
        let name = "pv_e2e_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        databases = [name + "_records", name + "_keys"]
        for database in databases { try PostgresDatabases.create(database, on: server) }
        let passwordFile = home.appendingPathComponent("postgres-password")
        FileManager.default.createFile(atPath: passwordFile.path, contents: Data((server.password ?? "").utf8), attributes: [.posixPermissions: 0o600])
        let base = "postgres://\(server.user)@\(server.host):\(server.port)"
        let config = home.appendingPathComponent("patronvault.conf")
        try """
            # A consortium's vault: records and keys in two PostgreSQL databases.
            storage = "postgres"
            records-url = \(base)/\(databases[0])
            keys-url = \(base)/\(databases[1])
            records-password-file = \(passwordFile.path)
            keys-password-file = \(passwordFile.path)
            """.write(to: config, atomically: true, encoding: .utf8)
        environment["PATRONVAULT_CONFIG"] = config.path
    }

    /// The config file naming the PostgreSQL databases (nil on SQLite).
    var configFile: String? { environment["PATRONVAULT_CONFIG"] }

    var vault: URL { home.appendingPathComponent("vault") }

    /// Runs `patronvault` (or another built binary, such as the daemon expected to refuse to start).
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, env extra: [String: String] = [:], binary: URL = Self.binary) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment.merging(extra) { _, new in new }
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data((stdin + "\n").utf8)) }
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// Initialises a vault and returns a CLI whose staff token is the first admin's.
    static func initialized(now: String = "2026-11-22T10:00:00Z", backend: Backend = .sqlite) throws -> CLI {
        var cli = try CLI(now: now, backend: backend)
        let result = try cli.run(["init", "--json"])
        guard result.status == 0, let token = result.json["token"] as? String else {
            throw CLIFailure(message: "init failed: \(result.stderr)")
        }
        cli.environment["PATRONVAULT_TOKEN"] = token
        return cli
    }

    /// Every byte of the vault's SQLite files, WAL and shared memory included.
    func rawDatabaseBytes() throws -> [(String, Data)] {
        try FileManager.default.contentsOfDirectory(atPath: vault.path)
            .filter { $0.hasPrefix("vault.db") || $0.hasPrefix("keys.db") }
            .sorted()
            .map { ($0, try Data(contentsOf: vault.appendingPathComponent($0))) }
    }

    /// One of the vault folder's SQLite files, as sqlite3 would open it beside a running daemon:
    /// it waits for the daemon's write lock (as the vault does) instead of failing at once.
    func database(_ name: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(15)
        return try DatabaseQueue(path: vault.appendingPathComponent(name).path, configuration: configuration)
    }

    func removeHome() {
        try? FileManager.default.removeItem(at: home)
        if let server = Backend.server {
            for database in databases { try? PostgresDatabases.drop(database, on: server) }
        }
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension Data {
    func contains(_ needle: String) -> Bool {
        range(of: Data(needle.utf8)) != nil
    }

    func contains(bytes needle: Data) -> Bool {
        range(of: needle) != nil
    }
}
