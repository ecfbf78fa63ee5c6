import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

/// Options every command shares: where the vault is, how its master key is found, and the
/// output format. The location's options are declared here rather than as a group of their own
/// inside this one: every nesting level multiplies the checks the argument parser's debug build
/// runs at each start, which the end-to-end tests pay thousands of times.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: VaultLocation.Help.vault)
    var vault: String?

    @Option(name: .long, help: VaultLocation.Help.keyFile)
    var keyFile: String?

    @Option(name: .long, help: VaultLocation.Help.policies)
    var policies: String?

    @Option(name: .long, help: VaultLocation.Help.storage)
    var storage: VaultLocation.StorageKind?

    @Option(name: .long, help: VaultLocation.Help.recordsUrl)
    var recordsUrl: String?

    @Option(name: .long, help: VaultLocation.Help.keysUrl)
    var keysUrl: String?

    @Option(name: .long, help: VaultLocation.Help.recordsPasswordFile)
    var recordsPasswordFile: String?

    @Option(name: .long, help: VaultLocation.Help.keysPasswordFile)
    var keysPasswordFile: String?

    @Option(name: .long, help: VaultLocation.Help.readerConnections)
    var readerConnections: Int?

    @Option(name: .long, help: VaultLocation.Help.keyCompactionInterval)
    var keyCompactionInterval: Int?

    @Option(name: .long, help: VaultLocation.Help.answerTimeout)
    var answerTimeout: Int?

    /// Where the options say the vault is.
    var location: VaultLocation {
        VaultLocation(
            vault: vault, keyFile: keyFile, policies: policies, storage: storage, recordsUrl: recordsUrl, keysUrl: keysUrl,
            recordsPasswordFile: recordsPasswordFile, keysPasswordFile: keysPasswordFile, readerConnections: readerConnections,
            keyCompactionInterval: keyCompactionInterval, answerTimeout: answerTimeout)
    }

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    @Option(name: .long, help: "A configuration file of name = value lines for the vault's location and storage, the daemon's file included (default: $PATRONVAULT_CONFIG). Options on the command line win.")
    var config: String?

    /// Fills what the command line left unset from the configuration file, if one is named.
    mutating func validate() throws {
        guard let path = config ?? Environment.value("PATRONVAULT_CONFIG") else { return }
        let file = try ConfigurationFile(
            path: path, known: VaultLocation.configurable.union(ConfigurationFile.daemonSettings), flags: ConfigurationFile.daemonFlags)
        var filled = location
        try filled.fill(from: file)
        (vault, keyFile, policies, storage) = (filled.vault, filled.keyFile, filled.policies, filled.storage)
        (recordsUrl, keysUrl, recordsPasswordFile, keysPasswordFile) = (filled.recordsUrl, filled.keysUrl, filled.recordsPasswordFile, filled.keysPasswordFile)
        (readerConnections, keyCompactionInterval, answerTimeout) = (filled.readerConnections, filled.keyCompactionInterval, filled.answerTimeout)
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
            throw CommandFailure(.invalidInput, "\(command) works on a vault kept in its folder (SQLite), not on a vault on PostgreSQL")
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
