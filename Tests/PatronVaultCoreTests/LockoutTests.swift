import Foundation
import Testing
@testable import PatronVaultCore

@Suite("PIN lockout and the clock rule")
struct LockoutTests {
    @Test("five wrong PINs lock the card, even against the right PIN, until the lockout has passed", arguments: FixtureBackend.available)
    func wrongPINsLockTheCard(_ backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            let configuration = fixture.configuration
            #expect(configuration.pinFailureLimit == 5)
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "L1"), pin: VaultFixture.pin("2468"), by: fixture.admin)
            for attempt in 1...configuration.pinFailureLimit {
                do {
                    _ = try await fixture.vault.signIn.patron(card: "L1", pin: VaultFixture.pin("0000"))
                    Issue.record("wrong PIN \(attempt) signed in")
                } catch let error as VaultError {
                    #expect(error.kind == .authenticationFailed, "attempt \(attempt)")
                }
            }
            do {
                _ = try await fixture.vault.signIn.patron(card: "L1", pin: VaultFixture.pin("2468"))
                Issue.record("the right PIN worked on a locked card")
            } catch let error as VaultError {
                #expect(error.kind == .lockedOut)
            }
            await fixture.vault.close()

            let almost = try await fixture.reopened(clock: FixedClock(VaultFixture.start.addingTimeInterval(configuration.pinLockout - 1)))
            do {
                _ = try await almost.signIn.patron(card: "L1", pin: VaultFixture.pin("2468"))
                Issue.record("the right PIN worked a second before the lockout ended")
            } catch let error as VaultError {
                #expect(error.kind == .lockedOut)
            }
            await almost.close()

            let later = try await fixture.reopened(clock: FixedClock(VaultFixture.start.addingTimeInterval(configuration.pinLockout)))
            let patron = try await later.signIn.patron(card: "L1", pin: VaultFixture.pin("2468"))
            #expect(try await later.selfService.myProfile(by: patron).registration.cardBarcode == "L1")
            await later.close()
        }
    }

    @Test("fewer wrong PINs than the limit do not lock the card, and the right PIN clears the count", arguments: FixtureBackend.available)
    func fewerFailuresDoNotLock(_ backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            let limit = fixture.configuration.pinFailureLimit
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "L2"), pin: VaultFixture.pin("2468"), by: fixture.admin)
            for _ in 0..<2 {
                for _ in 1..<limit {
                    await #expect(throws: VaultError.self) { try await fixture.vault.signIn.patron(card: "L2", pin: VaultFixture.pin("0000")) }
                }
                _ = try await fixture.vault.signIn.patron(card: "L2", pin: VaultFixture.pin("2468"))
            }
        }
    }

    @Test("a vault created on the system clock refuses a fixed clock, so no clock can step past a lockout")
    func realVaultRefusesFixedClock() async throws {
        let directory = VaultFixture.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent(Vault.defaultKeyFileName)
        let (vault, _) = try await Vault.initialize(
            at: directory, masterKey: .keyFile(keyFile), adminName: "admin", policies: VaultFixture.shippedPolicies,
            configuration: VaultFixture.configuration(clock: SystemClock()))
        await vault.close()
        do {
            let opened = try await Vault.open(
                at: directory, masterKey: .keyFile(keyFile), policies: VaultFixture.shippedPolicies,
                configuration: VaultFixture.configuration(clock: FixedClock(Date().addingTimeInterval(3600))))
            await opened.close()
            Issue.record("a real vault opened on a fixed clock")
        } catch {
            #expect(error.kind == .clockRefused)
        }
        let opened = try await Vault.open(
            at: directory, masterKey: .keyFile(keyFile), policies: VaultFixture.shippedPolicies, configuration: VaultFixture.configuration(clock: SystemClock()))
        await opened.close()
    }
}
