import ArgumentParser
import Foundation
import PatronVaultCore

/// Options every command shares: where the vault is, how its master key is found, and the
/// output format.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: "The vault folder (default: $PATRONVAULT_HOME or ./vault).")
    var vault: String?

    @Option(name: .long, help: "The master key file (default: $PATRONVAULT_KEY_FILE or VAULT/master.key).")
    var keyFile: String?

    @Option(name: .long, help: "The policy folder (default: $PATRONVAULT_POLICIES or ./Policies).")
    var policies: String?

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    var policyDirectory: URL { Environment.policyDirectory(policies) }

    var directory: URL {
        URL(fileURLWithPath: vault ?? Environment.value("PATRONVAULT_HOME") ?? "vault", isDirectory: true)
    }

    var keyFileURL: URL {
        if let keyFile { return URL(fileURLWithPath: keyFile) }
        if let path = Environment.value("PATRONVAULT_KEY_FILE") { return URL(fileURLWithPath: path) }
        return directory.appendingPathComponent(Vault.defaultKeyFileName)
    }

    /// A passphrase from `PATRONVAULT_PASSPHRASE` wins; otherwise the key file is used.
    var masterKey: MasterKeySource {
        if let passphrase = Environment.value("PATRONVAULT_PASSPHRASE") {
            return .passphrase(Array(passphrase.utf8))
        }
        return .keyFile(keyFileURL)
    }

    var vaultConfiguration: VaultConfiguration {
        get throws {
            var configuration = VaultConfiguration()
            configuration.frontEnd = .cli
            if let now = Environment.value("PATRONVAULT_NOW") {
                guard let instant = ISO8601DateFormatter().date(from: now) else {
                    throw ValidationError("PATRONVAULT_NOW is not an ISO 8601 time such as 2026-11-22T10:00:00Z")
                }
                configuration.clock = FixedClock(instant)
            }
            return configuration
        }
    }

    /// Opens the vault, runs `body` on it, and closes it whether or not `body` threw, so queued
    /// shreds finish and the WALs are truncated before the process exits.
    func withVault<T>(_ body: (Vault) async throws -> T) async throws -> T {
        let policies = try Vault.loadPolicies(from: policyDirectory)
        let vault = try await Vault.open(at: directory, masterKey: masterKey, policies: policies, configuration: vaultConfiguration)
        return try await vault.closing(after: body)
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

enum Environment {
    /// The policy folder: the option if given, else `$PATRONVAULT_POLICIES`, else `./Policies`.
    static func policyDirectory(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? value("PATRONVAULT_POLICIES") ?? "Policies", isDirectory: true)
    }

    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
