import ArgumentParser
import Foundation
import PatronVaultCore

/// Where a front end finds the vault, its master key and its policies: options, then
/// environment variables, then defaults. The CLI's direct mode and the daemon read them alike,
/// so one vault folder means the same thing to both.
public struct VaultLocation: ParsableArguments {
    @Option(name: .long, help: "The vault folder (default: $PATRONVAULT_HOME or ./vault).")
    public var vault: String?

    @Option(name: .long, help: "The master key file (default: $PATRONVAULT_KEY_FILE or VAULT/master.key).")
    public var keyFile: String?

    @Option(name: .long, help: "The policy folder (default: $PATRONVAULT_POLICIES or ./Policies).")
    public var policies: String?

    public init() {}

    public var policyDirectory: URL { Environment.policyDirectory(policies) }

    public var directory: URL {
        URL(fileURLWithPath: vault ?? Environment.value("PATRONVAULT_HOME") ?? "vault", isDirectory: true)
    }

    public var keyFileURL: URL {
        if let keyFile { return URL(fileURLWithPath: keyFile) }
        if let path = Environment.value("PATRONVAULT_KEY_FILE") { return URL(fileURLWithPath: path) }
        return directory.appendingPathComponent(Vault.defaultKeyFileName)
    }

    /// A passphrase from `PATRONVAULT_PASSPHRASE` wins; otherwise the key file is used.
    public var masterKey: MasterKeySource {
        if let passphrase = Environment.value("PATRONVAULT_PASSPHRASE") {
            return .passphrase(Array(passphrase.utf8))
        }
        return .keyFile(keyFileURL)
    }

    /// The vault's settings for `frontEnd`; `PATRONVAULT_NOW` fixes the clock, which only a vault
    /// made with a fixed clock (a test vault) accepts.
    public func configuration(for frontEnd: FrontEnd) throws -> VaultConfiguration {
        var configuration = VaultConfiguration()
        configuration.frontEnd = frontEnd
        if let now = Environment.value("PATRONVAULT_NOW") {
            guard let instant = ISO8601DateFormatter().date(from: now) else {
                throw ValidationError("PATRONVAULT_NOW is not an ISO 8601 time such as 2026-11-22T10:00:00Z")
            }
            configuration.clock = FixedClock(instant)
        }
        return configuration
    }

    /// Loads the policies and opens the vault, with the front end's own settings applied.
    public func open(for frontEnd: FrontEnd, adjusting adjust: (inout VaultConfiguration) -> Void = { _ in }) async throws -> Vault {
        let policies = try Vault.loadPolicies(from: policyDirectory)
        var configuration = try configuration(for: frontEnd)
        adjust(&configuration)
        return try await Vault.open(at: directory, masterKey: masterKey, policies: policies, configuration: configuration)
    }
}

/// The environment variables the front ends read; an empty one counts as unset.
public enum Environment {
    /// The policy folder: the option if given, else `$PATRONVAULT_POLICIES`, else `./Policies`.
    public static func policyDirectory(_ option: String?) -> URL {
        URL(fileURLWithPath: option ?? value("PATRONVAULT_POLICIES") ?? "Policies", isDirectory: true)
    }

    public static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
