import Foundation
import PatronVaultCore

/// Where one of the vault's two PostgreSQL databases is, read from a `postgres://` URL, and how
/// to reach it. The password is never part of the URL: a URL is shown in process lists, shell
/// histories and error reports, so a password in one is refused and comes from a file or the
/// environment instead.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is protected.
    public enum TransportSecurity: String, Sendable {
        /// Plain TCP: for a server on the same host or a private network only.
        case disable
        /// TLS, the server's certificate checked against the system's roots (or `certificateAuthorityFile`)
        /// and its name against the host.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var transportSecurity: TransportSecurity
    /// A PEM file of the certificate authorities to trust instead of the system's.
    public var certificateAuthorityFile: String?
    /// The password, read from a file or the environment; never printed.
    public var password: String?
    /// How long a statement may go unanswered before its connection is closed and the call
    /// fails: a server or network that stops answering (a partition, a stopped server) fails
    /// requests instead of holding them, and the next one connects again. Nil waits as long as
    /// it takes. Maintenance (VACUUM) is never cut short.
    public var answerTimeout: Duration?

    /// Parses `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|verify-full&sslrootcert=FILE]`.
    /// Without `sslmode`, a loopback host is reached in the clear and any other host over
    /// verified TLS.
    public init(url text: String) throws(VaultError) {
        guard let components = URLComponents(string: text), components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw VaultError(.invalidInput, "a PostgreSQL URL must look like postgres://USER@HOST:PORT/DATABASE")
        }
        guard components.password == nil else {
            throw VaultError(.invalidInput, "a PostgreSQL URL must not carry a password; give it in a password file or the environment")
        }
        guard let host = components.host, !host.isEmpty else { throw VaultError(.invalidInput, "the PostgreSQL URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw VaultError(.invalidInput, "the PostgreSQL URL names no user (postgres://USER@HOST/DATABASE)") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else { throw VaultError(.invalidInput, "the PostgreSQL URL names no database (postgres://USER@HOST/DATABASE)") }
        self.host = host
        port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw VaultError(.invalidInput, "the PostgreSQL URL's port is out of range") }
        self.user = user
        database = path
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        transportSecurity = loopback ? .disable : .verifyFull
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TransportSecurity.init(rawValue:)) else {
                    throw VaultError(.invalidInput, "the PostgreSQL URL's sslmode must be disable or verify-full")
                }
                transportSecurity = mode
            case "sslrootcert":
                guard let file = item.value, !file.isEmpty else { throw VaultError(.invalidInput, "the PostgreSQL URL's sslrootcert names no file") }
                certificateAuthorityFile = file
            default:
                throw VaultError(.invalidInput, "the PostgreSQL URL has an unknown parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
    }

    /// The same database with another name: what a test or a migration makes beside it.
    public func with(database: String) -> PostgresLocation {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL without the password, for messages.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)"
    }

    /// Whether two locations name the same database on the same server, as far as their URLs
    /// tell (the stores also compare what each database says it is, which catches aliases).
    public func namesSameDatabase(as other: PostgresLocation) -> Bool {
        host.lowercased() == other.host.lowercased() && port == other.port && database == other.database
    }

    public static func == (lhs: PostgresLocation, rhs: PostgresLocation) -> Bool {
        lhs.description == rhs.description && lhs.transportSecurity == rhs.transportSecurity
            && lhs.certificateAuthorityFile == rhs.certificateAuthorityFile
    }
}
