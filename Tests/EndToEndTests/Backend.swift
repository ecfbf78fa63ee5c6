import Foundation
import PatronVaultPostgres
import Testing

/// The storage backends the end-to-end flows run on: SQLite always, PostgreSQL beside the
/// cluster `Tests/with-postgres` starts (README's test command, and CI).
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var available: [Backend] { server == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// The test cluster's maintenance database, with its password.
    static var server: PostgresLocation? { PostgresTestCluster.server }

    /// The cluster's data directory, which a test scans as someone holding the server's disk would.
    static var dataDirectory: URL? { PostgresTestCluster.dataDirectory }
}

extension CLI {
    /// Runs one statement with psql on this vault's records (0) or key (1) database and returns
    /// its rows, `|`-separated: what someone with the database's password sees.
    func psql(_ sql: String, database index: Int = 0) throws -> [String] {
        try psql(sql, on: databases[index])
    }

    /// The same on any database of the cluster (`postgres` for ALTER DATABASE, which a
    /// read-only database refuses on itself).
    func psql(_ sql: String, on database: String) throws -> [String] {
        let server = try #require(Backend.server)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-tA", "-h", server.host, "-p", "\(server.port)", "-U", server.user, "-d", database, "-c", sql]
        process.environment = ["PGPASSWORD": server.password ?? "", "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIFailure(message: "psql failed on: \(sql)") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
