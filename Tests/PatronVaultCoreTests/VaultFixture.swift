import Foundation
import PatronVaultCrypto
import PatronVaultPolicy
@testable import PatronVaultCore

/// A vault in a temporary folder with the shipped policies, cheap Argon2id limits and a fixed clock.
struct VaultFixture {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shippedPolicies = try! PolicySet.load(directory: repository.appendingPathComponent("Policies"))

    let directory: URL
    let vault: Vault
    let admin: Principal
    let configuration: VaultConfiguration

    var keyFile: URL { directory.appendingPathComponent("master.key") }

    init(now: Date = Date(timeIntervalSince1970: 1_795_000_000)) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pv-core-\(UUID().uuidString)")
        var configuration = VaultConfiguration()
        configuration.clock = FixedClock(now)
        configuration.pinLimits = Argon2Limits(operations: 1, memoryBytes: 8192)
        configuration.passphraseLimits = Argon2Limits(operations: 1, memoryBytes: 8192)
        self.configuration = configuration
        let (vault, token) = try Vault.initialize(
            at: directory, masterKey: .keyFile(directory.appendingPathComponent("master.key")), adminName: "admin",
            policies: Self.shippedPolicies, configuration: configuration)
        self.vault = vault
        admin = try vault.authenticateStaff(token: token.token)
    }

    /// The same vault opened again under another policy set.
    func reopened(with policies: PolicySet) throws -> Vault {
        try Vault.open(at: directory, masterKey: .keyFile(keyFile), policies: policies, configuration: configuration)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    static func registration(card: String, name: String = "Test Patron", history: HistoryPreference = .discard) -> PatronRegistration {
        PatronRegistration(cardBarcode: card, fullName: name, email: "\(card.lowercased())@example.org", history: history)
    }
}
