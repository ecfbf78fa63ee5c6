import Foundation

/// The throw-away cluster `Tests/with-postgres` starts, as its environment variables describe it:
/// what the test suites and the benchmark run their PostgreSQL cases on.
package enum PostgresTestCluster {
    /// The cluster's maintenance database with its password; nil outside `Tests/with-postgres`.
    package static let server: PostgresLocation? = {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["PATRONVAULT_TEST_POSTGRES"], var location = try? PostgresLocation(url: url + "/postgres") else { return nil }
        if let file = passwordFile, let password = try? String(contentsOfFile: file, encoding: .utf8) {
            location.password = password.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return location
    }()

    /// The 0600 file holding the cluster's password.
    package static var passwordFile: String? { ProcessInfo.processInfo.environment["PATRONVAULT_TEST_POSTGRES_PASSWORD_FILE"] }

    /// The cluster's data directory, which the erasure tests scan.
    package static var dataDirectory: URL? {
        ProcessInfo.processInfo.environment["PATRONVAULT_TEST_POSTGRES_DATA"].map { URL(fileURLWithPath: $0, isDirectory: true) }
    }
}
