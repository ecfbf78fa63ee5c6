import Foundation
import PatronVaultCore
import PostgresNIO

/// Creating and dropping whole databases, through the server's maintenance database
/// (`postgres`): what a migration's `--create` and the conformance suite's throw-away databases
/// need. Names are checked to be plain identifiers, since they cannot be bound as parameters.
package enum PostgresDatabases {
    /// Creates `name`, empty or as a copy of `template` (which nobody may be connected to).
    package static func create(_ name: String, copying template: String? = nil, on server: PostgresLocation) throws {
        try checkName(name)
        if let template { try checkName(template) }
        let link = PostgresLink(server.with(database: "postgres"), name: "the PostgreSQL server")
        defer { link.close() }
        let copying = template.map { " TEMPLATE \"\($0)\"" } ?? ""
        try link.withSession { session in _ = try session.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\"\(copying)")) }
    }

    package static func drop(_ name: String, on server: PostgresLocation) throws {
        try checkName(name)
        let link = PostgresLink(server.with(database: "postgres"), name: "the PostgreSQL server")
        defer { link.close() }
        try link.withSession { session in _ = try session.execute(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")) }
    }

    private static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 63, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw VaultError(.invalidInput, "a database name must be 1 to 63 letters, digits or underscores")
        }
    }
}
