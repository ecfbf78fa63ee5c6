import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

/// Options every command shares: where the vault is, how its master key is found, and the
/// output format.
struct VaultOptions: ParsableArguments {
    @OptionGroup var location: VaultLocation

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    @Option(name: .long, help: "A configuration file of name = value lines for the vault's location and storage, the daemon's file included (default: $PATRONVAULT_CONFIG). Options on the command line win.")
    var config: String?

    /// Fills what the command line left unset from the configuration file, if one is named.
    mutating func validate() throws {
        guard let path = config ?? Environment.value("PATRONVAULT_CONFIG") else { return }
        let file = try ConfigurationFile(
            path: path, known: VaultLocation.configurable.union(ConfigurationFile.daemonSettings), flags: ConfigurationFile.daemonFlags)
        try location.fill(from: file)
    }

    @Option(name: .long, help: "Send the command to a running patronvaultd (http://HOST:PORT, https://…, unix:PATH; default: $PATRONVAULT_SERVER). Without it the CLI opens the vault folder itself.")
    var server: String?

    /// The daemon to talk to, when one is named.
    var client: DaemonClient? {
        get throws { try (server ?? Environment.value("PATRONVAULT_SERVER")).map(DaemonClient.init) }
    }

    /// Runs `direct` on the vault folder, or `remote` through the daemon when one is named.
    func perform<T>(direct: (Vault) async throws -> T, remote: (DaemonClient) async throws -> T) async throws -> T {
        if let client = try client { return try await remote(client) }
        return try await location.open(for: .cli).closing(after: direct)
    }

    var policyDirectory: URL { location.policyDirectory }
    var directory: URL { location.directory }
    var keyFileURL: URL { location.keyFileURL }
    var masterKey: MasterKeySource { location.masterKey }
    var vaultConfiguration: VaultConfiguration { get throws { try location.configuration(for: .cli) } }

    /// Refuses a command that works on the vault folder's SQLite files alone when the options
    /// name a PostgreSQL vault, rather than report that the folder holds no vault.
    func requireEmbedded(_ command: String) throws {
        guard location.storage != .postgres else {
            throw CommandFailure(.invalidInput, "\(command) works on a vault kept in its folder (SQLite); for a vault on PostgreSQL it is not available yet")
        }
    }

    /// Opens the vault, runs `body` on it, and closes it whether or not `body` threw, so queued
    /// shreds finish and the WALs are truncated before the process exits. For a command the
    /// daemon does not serve (yet): with a server named, it refuses rather than open the folder.
    func withVault<T>(_ body: (Vault) async throws -> T) async throws -> T {
        if let client = try client {
            throw CommandFailure(.invalidInput, "this command is not served by the daemon at \(client.description); run it on the vault host without --server or PATRONVAULT_SERVER")
        }
        return try await location.open(for: .cli).closing(after: body)
    }
}

extension Vault {
    /// Runs `body`, then awaits `close()` on success and failure alike (a `defer` cannot await),
    /// then returns or rethrows what `body` did.
    func closing<T>(after body: (Vault) async throws -> T) async throws -> T {
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body(self))
        } catch {
            outcome = .failure(error)
        }
        await close()
        return try outcome.get()
    }
}
