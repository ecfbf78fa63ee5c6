import Foundation
import PatronVaultAudit
import Testing
@testable import PatronVaultCore

/// The gate decides at action level before any lookup, so a lookup that finds nothing is still
/// on the trail: who asked, for what, and why, with no patron and no trace of what was typed.
@Suite("The gate records every outcome")
struct GateAuditTests {
    /// A staff operation on a card or item the vault does not hold.
    struct Miss: Sendable, CustomTestStringConvertible {
        let name: String
        let action: AccessAction
        let expected: VaultError.Kind
        /// What the staff member typed, which must not reach the trail.
        let typed: [String]
        let run: @Sendable (Vault, Principal) async throws -> Void

        var testDescription: String { name }
    }

    static let misses: [Miss] = [
        Miss(name: "desk.patronProfile", action: .patronRead, expected: .notFound, typed: ["NOPE"]) { vault, staff in
            _ = try await vault.desk.patronProfile(card: "NOPE", purpose: "circulation", by: staff)
        },
        Miss(name: "desk.returnItem", action: .loanReturn, expected: .notFound, typed: ["GONE-7"]) { vault, staff in
            _ = try await vault.desk.returnItem("GONE-7", by: staff)
        },
        Miss(name: "desk.checkout", action: .loanCheckout, expected: .notFound, typed: ["NOPE", "NEW-ITEM-9"]) { vault, staff in
            _ = try await vault.desk.checkout(card: "NOPE", item: "NEW-ITEM-9", title: "Unseen Title", author: nil, due: nil, branch: nil, by: staff)
        },
        Miss(name: "desk.updatePatron", action: .patronUpdate, expected: .notFound, typed: ["NOPE", "555-0199"]) { vault, staff in
            var update = PatronUpdate()
            update.phone = "555-0199"
            try await vault.desk.updatePatron(card: "NOPE", with: update, by: staff)
        },
        Miss(name: "desk.resetPIN", action: .patronResetPIN, expected: .notFound, typed: ["NOPE"]) { vault, staff in
            try await vault.desk.resetPIN(card: "NOPE", pin: VaultFixture.pin("9753"), purpose: "account-help", by: staff)
        },
        Miss(name: "desk.patronHistory", action: .historyRead, expected: .permissionDenied, typed: ["NOPE"]) { vault, staff in
            _ = try await vault.desk.patronHistory(card: "NOPE", purpose: "circulation", by: staff)
        },
    ]

    @Test("a staff operation on an unknown card or item fails and leaves an entry naming the staff member, no patron, nothing typed", arguments: misses)
    func missIsAudited(_ miss: Miss) async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            // A patron whose card is close to the typed one: nothing about them may be involved.
            try await vault.desk.registerPatron(VaultFixture.registration(card: "NOPE1"), pin: nil, by: fixture.admin)
            let staff = try await fixture.staff("desk")
            do {
                try await miss.run(vault, staff)
                Issue.record("\(miss.name) succeeded on something the vault does not hold")
            } catch let error as VaultError {
                #expect(error.kind == miss.expected, "\(error.message)")
            }
            let entries = try await vault.oversight.auditLog(AuditLogFilter(staffName: "desk"), by: fixture.admin)
            let entry = try #require(entries.last { $0.action == miss.action.rawValue }, "no \(miss.action.rawValue) entry for \(miss.name)")
            #expect(entry.principalKind == "staff")
            #expect(entry.principalID == staff.id)
            #expect(entry.principalRole == "staff")
            #expect(entry.patron == nil)
            #expect(entry.decision == (miss.expected == .permissionDenied ? .forbid : .permit))
            // The reflection below reads every field: it finds the ones this entry is known to hold.
            let texts = Self.strings(in: entry)
            #expect([entry.principalID, entry.action, entry.policyDigest, entry.frontEnd].allSatisfy(texts.contains))
            #expect(entry.ruleIDs.allSatisfy(texts.contains))
            // Every entry the operation left, not only the one above, is free of what was typed.
            for left in entries {
                for text in Self.strings(in: left) {
                    for typed in miss.typed {
                        #expect(!text.localizedCaseInsensitiveContains(typed), "entry \(left.sequence) holds what was typed")
                    }
                }
            }
            #expect(entries.allSatisfy { $0.patron == nil })
        }
    }

    @Test("a refusal about a known patron is recorded against them, and answered as for an unknown card", arguments: FixtureBackend.available)
    func refusalIsShownToThePatron(_ backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "R1", history: .keep), pin: VaultFixture.pin("2468"), by: fixture.admin)
            let staff = try await fixture.staff("desk")
            var answers: [String: VaultError] = [:]
            for card in ["R1", "NOPE"] {
                do {
                    _ = try await vault.desk.patronHistory(card: card, purpose: "circulation", by: staff)
                    Issue.record("staff read the history of \(card)")
                } catch let error as VaultError {
                    answers[card] = error
                }
            }
            #expect(answers["R1"]?.kind == .permissionDenied)
            #expect(answers["R1"] == answers["NOPE"])
            let patron = try await vault.signIn.patron(card: "R1", pin: VaultFixture.pin("2468"))
            let accesses = try await vault.selfService.myAccesses(by: patron)
            #expect(accesses.filter { $0.action == AccessAction.historyRead.rawValue }.map(\.permitted) == [false])
            #expect(accesses.first { $0.action == AccessAction.historyRead.rawValue }?.staffID == staff.id)
        }
    }

    @Test("a purpose outside the schema's list is recorded as unlisted, never as typed")
    func unlistedPurposeIsNotCopied() async throws {
        try await VaultFixture.with { fixture in
            let staff = try await fixture.staff("desk")
            await #expect(throws: VaultError.self) {
                try await fixture.vault.desk.patronProfile(card: "NOPE", purpose: "looking up Ada Lovelace", by: staff)
            }
            let entries = try await fixture.vault.oversight.auditLog(AuditLogFilter(staffName: "desk"), by: fixture.admin)
            #expect(!entries.isEmpty)
            #expect(entries.allSatisfy { $0.purpose == "(unlisted)" })
        }
    }

    /// Every string the entry holds, found by reflection so a field added later is checked too.
    static func strings(in entry: AuditEntry) -> [String] {
        Mirror(reflecting: entry).children.flatMap { child -> [String] in
            switch child.value {
            case let text as String: [text]
            case let text as String?: text.map { [$0] } ?? []
            case let texts as [String]: texts
            default: []
            }
        }
    }
}
