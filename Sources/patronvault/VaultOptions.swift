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

    var policyDirectory: URL { location.policyDirectory }
    var directory: URL { location.directory }
    var keyFileURL: URL { location.keyFileURL }
    var masterKey: MasterKeySource { location.masterKey }
    var vaultConfiguration: VaultConfiguration { get throws { try location.configuration(for: .cli) } }

    /// Opens the vault, runs `body` on it, and closes it whether or not `body` threw, so queued
    /// shreds finish and the WALs are truncated before the process exits.
    func withVault<T>(_ body: (Vault) async throws -> T) async throws -> T {
        try await location.open(for: .cli).closing(after: body)
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
