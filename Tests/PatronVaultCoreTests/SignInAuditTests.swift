import Foundation
import PatronVaultAudit
import Testing
@testable import PatronVaultCore

/// Failed sign-ins are accounted for: against the card's patron when the card is known (and
/// shown to them), without a patron when it is not; a successful sign-in records no failure.
@Suite("Failed sign-ins in the audit trail")
struct SignInAuditTests {
    static func signInEntries(_ fixture: VaultFixture) async throws -> [AuditEntry] {
        try await fixture.vault.oversight.auditLog(AuditLogFilter(action: AccessAction.patronSignIn.rawValue), by: fixture.admin)
    }

    static func failToSignIn(_ vault: Vault, card: String, pin: String) async {
        do {
            _ = try await vault.signIn.patron(card: card, pin: VaultFixture.pin(pin))
            Issue.record("signed in with card \(card) and a wrong PIN")
        } catch {}
    }

    @Test("wrong PIN, PIN-less card and locked card are recorded against the patron, who sees them; an unknown card without one", arguments: FixtureBackend.available)
    func failuresAreRecorded(_ backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "S1"), pin: VaultFixture.pin("2468"), by: fixture.admin)
            try await vault.desk.registerPatron(VaultFixture.registration(card: "S2"), pin: nil, by: fixture.admin)
            let owner = try await vault.signIn.patron(card: "S1", pin: VaultFixture.pin("2468"))
            #expect(try await Self.signInEntries(fixture).isEmpty)

            await Self.failToSignIn(vault, card: "S1", pin: "1111")
            await Self.failToSignIn(vault, card: "S2", pin: "1111")
            await Self.failToSignIn(vault, card: "NOSUCHCARD", pin: "1111")
            let entries = try await Self.signInEntries(fixture)
            #expect(entries.count == 3)
            #expect(entries.allSatisfy { $0.decision == .forbid && $0.resourceKind == "registration" })
            #expect(entries[0].patron == owner.id && entries[0].principalID == owner.id)
            #expect(entries[1].patron != nil && entries[1].patron != owner.id)
            #expect(entries[2].patron == nil && entries[2].principalKind == "unidentified")
            for entry in entries {
                for field in [entry.principalID, entry.principalRole, entry.action, entry.patron ?? "", entry.purpose ?? ""] {
                    #expect(!field.contains("NOSUCHCARD") && !field.contains("1111"))
                }
            }

            var accesses = try await vault.selfService.myAccesses(by: owner)
            #expect(accesses.filter { $0.kind == .failedSignIn }.count == 1)
            #expect(accesses.first { $0.kind == .failedSignIn }?.permitted == false)

            for _ in 1...fixture.configuration.pinFailureLimit { await Self.failToSignIn(vault, card: "S1", pin: "0000") }
            await Self.failToSignIn(vault, card: "S1", pin: "2468")
            accesses = try await vault.selfService.myAccesses(by: owner)
            #expect(accesses.filter { $0.kind == .failedSignIn }.count == 2 + fixture.configuration.pinFailureLimit)
        }
    }

    @Test("a card with no PIN is never counted or locked: it answers like an unknown card, however often it is tried", arguments: FixtureBackend.available)
    func pinlessCardNeverLocks(_ backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "NP1"), pin: nil, by: fixture.admin)
            for _ in 0...(fixture.configuration.pinFailureLimit + 1) {
                for card in ["NP1", "NOPE1"] {
                    do {
                        _ = try await fixture.vault.signIn.patron(card: card, pin: VaultFixture.pin("1234"))
                        Issue.record("\(card) signed in")
                    } catch let error as VaultError {
                        #expect(error.kind == .authenticationFailed, "\(card): \(error.kind)")
                    }
                }
            }
        }
    }
}
