import Foundation
import PatronVaultAudit
import Testing
@testable import PatronVaultCore

@Suite("Breach exposure")
struct ExposureTests {
    @Test("an account's lookups give an admin pseudonyms only, and a privacy officer cards, each resolution shown to the patron")
    func exposureByRole() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            for card in ["E1", "E2", "E3"] {
                try await vault.desk.registerPatron(VaultFixture.registration(card: card), pin: VaultFixture.pin("2468"), by: fixture.admin)
            }
            var patrons: [String: Principal] = [:]
            for card in ["E1", "E2", "E3"] {
                patrons[card] = try await vault.signIn.patron(card: card, pin: VaultFixture.pin("2468"))
            }
            let desk = try await fixture.staff("desk")
            let officer = try await fixture.staff("officer", role: .privacyOfficer)
            _ = try await vault.desk.patronProfile(card: "E1", purpose: "circulation", by: desk)
            _ = try await vault.desk.patronProfile(card: "E2", purpose: "holds", by: desk)
            let looked = Set([patrons["E1"]!.id, patrons["E2"]!.id])

            let forAdmin = try await vault.oversight.auditExposure(staffName: "desk", keyVersion: nil, since: nil, until: nil, by: fixture.admin)
            #expect(Set(forAdmin.map(\.pseudonym)) == looked)
            #expect(forAdmin.count == 2)
            #expect(forAdmin.allSatisfy { $0.card == nil })

            let forOfficer = try await vault.oversight.auditExposure(staffName: "desk", keyVersion: nil, since: nil, until: nil, by: officer)
            #expect(Set(forOfficer.map(\.pseudonym)) == looked)
            #expect(Set(forOfficer.compactMap(\.card)) == ["E1", "E2"])
            for exposed in forOfficer {
                #expect(exposed.card.map { patrons[$0]?.id } == exposed.pseudonym)
            }

            for card in ["E1", "E2"] {
                let accesses = try await vault.selfService.myAccesses(by: patrons[card]!)
                let resolutions = accesses.filter { $0.action == AccessAction.auditExposure.rawValue }
                #expect(resolutions.count == 1, "\(card)")
                #expect(resolutions.first?.staffID == officer.id)
                #expect(resolutions.first?.staffName == "officer")
                #expect(resolutions.first?.permitted == true)
                #expect(accesses.contains { $0.action == AccessAction.patronRead.rawValue && $0.staffID == desk.id })
            }
            let untouched = try await vault.selfService.myAccesses(by: patrons["E3"]!)
            #expect(!untouched.contains { $0.action == AccessAction.auditExposure.rawValue || $0.staffID == desk.id })
        }
    }
}
