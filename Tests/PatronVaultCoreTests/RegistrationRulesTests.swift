import Foundation
import Testing
@testable import PatronVaultCore

/// Dates that cannot be right are refused at the desk, on update and on import, naming the
/// field and never the value.
@Suite("Registration date rules")
struct RegistrationRulesTests {
    static func form(card: String, born: String? = nil, expires: String? = nil) throws -> PatronRegistration {
        var form = VaultFixture.registration(card: card)
        form.birthDate = try born.map { try CalendarDay(parsing: $0, field: "birth date") }
        form.cardExpiry = try expires.map { try CalendarDay(parsing: $0, field: "card expiry") }
        return form
    }

    static func expectInvalid(_ mentions: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("accepted: \(mentions)")
        } catch let error as VaultError {
            #expect(error.kind == .invalidInput)
            #expect(error.message.contains(mentions))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("a birth date in the future or before 1900, and a card expiry outside 1970–2199, are refused", arguments: FixtureBackend.available)
    func impossibleDates(_ backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            let desk = fixture.vault.desk
            for (born, expires, mentions) in [("2999-01-01", nil, "birth date"), ("1899-12-31", nil, "birth date"), (nil, "1900-01-01", "card expiry")] as [(String?, String?, String)] {
                await Self.expectInvalid(mentions) {
                    try await desk.registerPatron(try Self.form(card: "R1", born: born, expires: expires), pin: nil, by: fixture.admin)
                }
                await Self.expectInvalid(mentions) {
                    try await desk.importPatrons([PatronImport(registration: try Self.form(card: "R2", born: born, expires: expires))], by: fixture.admin)
                }
            }
            try await desk.registerPatron(try Self.form(card: "R3", born: "1984-03-09", expires: "2030-01-31"), pin: nil, by: fixture.admin)
            var update = PatronUpdate()
            update.cardExpiry = try CalendarDay(parsing: "1900-01-01", field: "card expiry")
            await Self.expectInvalid("card expiry") { try await desk.updatePatron(card: "R3", with: update, by: fixture.admin) }
            let profile = try await desk.patronProfile(card: "R3", purpose: "circulation", by: fixture.admin)
            #expect(profile.expires?.description == "2030-01-31")
        }
    }

    @Test("a registration decoded from a front end's document (hasPIN true) registers without a PIN: only the pin argument sets one", arguments: FixtureBackend.available)
    func decodedRegistrationCarriesNoPIN(_ backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            let document = #"{"card":"DP1","name":"Dee Decoded","email":"dee@example.org","history":"discard","registered":"2026-01-01","hasPIN":true}"#
            let form = try JSONDecoder().decode(PatronRegistration.self, from: Data(document.utf8))
            #expect(form.hasPIN)
            try await fixture.vault.desk.registerPatron(form, pin: nil, by: fixture.admin)
            let profile = try await fixture.vault.desk.patronProfile(card: "DP1", purpose: "account-help", by: fixture.admin)
            #expect(profile.hasPIN == false)
        }
    }
}
