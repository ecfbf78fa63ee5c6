import Foundation
import GRDB
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

    /// A psql session on the records database that has sent `sql` and stays open until its input
    /// closes (a lock held from outside the vault), returned once `check` counts 1.
    func psqlSession(_ sql: String, until check: String) throws -> (process: Process, input: Pipe) {
        let server = try #require(Backend.server)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-tA", "-h", server.host, "-p", "\(server.port)", "-U", server.user, "-d", databases[0]]
        process.environment = ["PGPASSWORD": server.password ?? "", "PATH": "/usr/bin:/bin"]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data("\(sql)\n".utf8))
        for _ in 0..<100 {
            if try psql(check) == ["1"] { return (process, input) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CLIFailure(message: "psql did not take its lock")
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

extension CLI {
    /// The vault's two stores: the records (`vault.db`, or the records database) and the keys.
    enum Store: Int {
        case records
        case keys

        var file: String { self == .records ? "vault.db" : "keys.db" }
    }

    /// Runs one statement on the records or key store, whichever backend holds it, and returns
    /// its rows as psql prints them (`|` between columns, NULL empty, integers in decimal): what
    /// someone holding the database sees. Statements must read the same on SQLite and PostgreSQL.
    func rows(_ sql: String, in store: Store = .records) throws -> [String] {
        if backend == .postgres { return try psql(sql, database: store.rawValue) }
        return try database(store.file).write { db in
            try Row.fetchAll(db, sql: sql).map { row in
                row.databaseValues.map { value -> String in
                    switch value.storage {
                    case .null: ""
                    case .int64(let number): String(number)
                    case .double(let number): String(number)
                    case .string(let text): text
                    case .blob(let bytes): "\\x" + bytes.map { String(format: "%02x", $0) }.joined()
                    }
                }.joined(separator: "|")
            }
        }
    }

    /// A byte string as a literal of this backend's SQL, from the `\\x…` form `rows` prints.
    func blob(_ printed: String) -> String {
        let hex = printed.hasPrefix("\\x") ? String(printed.dropFirst(2)) : printed
        return backend == .postgres ? "'\\x\(hex)'::bytea" : "x'\(hex)'"
    }

    /// The one integer a statement such as `SELECT count(*) …` answers, on either backend.
    func count(_ sql: String, in store: Store = .records) throws -> Int {
        let answer = try rows(sql, in: store)
        guard answer.count == 1, let number = Int(answer[0]) else { throw CLIFailure(message: "not one number from: \(sql)") }
        return number
    }
}

extension Data {
    /// The bytes a string of hex digits spells (as `CLI.rows` prints a blob after its `\x`).
    init?(hexString: String) {
        var bytes: [UInt8] = []
        var digits = hexString.makeIterator()
        while let high = digits.next() {
            guard let low = digits.next(), let byte = UInt8(String([high, low]), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes)
    }
}
