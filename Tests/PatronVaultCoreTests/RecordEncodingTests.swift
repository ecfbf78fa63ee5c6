import Foundation
import Testing
@testable import PatronVaultCore

@Suite("Record encoding and field rules")
struct RecordEncodingTests {
    @Test("a registration round-trips through its canonical encoding, and a trailing byte is refused")
    func registrationRoundTrip() throws {
        var registration = PatronRegistration(
            cardBarcode: "C1", fullName: "Zoë Ångström", email: "z@example.org", phone: nil, postalAddress: "1 Rue de l'Été",
            birthDate: CalendarDay(daysSinceEpoch: 5000), homeBranch: "north", category: nil, cardExpiry: nil, history: .keep,
            registeredOn: CalendarDay(daysSinceEpoch: 20_000))
        registration.pinHash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"
        let decoded = try PatronRegistration(decoding: registration.encoded())
        #expect(decoded == registration)
        #expect(throws: VaultError.self) { try PatronRegistration(decoding: registration.encoded() + [0]) }
        #expect(throws: VaultError.self) { try PatronRegistration(decoding: Array(registration.encoded().dropLast())) }
    }

    @Test("a loan round-trips, returned or not")
    func loanRoundTrip() throws {
        var loan = Loan(itemBarcode: "I1", title: "T", author: nil, branch: "main", checkedOutAt: Date(timeIntervalSince1970: 1_700_000_000.123), dueOn: CalendarDay(daysSinceEpoch: 19_700))
        #expect(try Loan(decoding: loan.encoded()) == loan)
        loan.returnedAt = Date(timeIntervalSince1970: 1_700_100_000)
        #expect(try Loan(decoding: loan.encoded()) == loan)
    }

    @Test("associated data differs by kind, record and patron")
    func associatedDataBindsIdentity() {
        let patron = PatronPseudonym.random(), other = PatronPseudonym.random()
        let id = RecordID.random(), otherID = RecordID.random()
        let base = RecordAssociatedData.bytes(kind: .loan, id: id, patron: patron)
        #expect(base != RecordAssociatedData.bytes(kind: .registration, id: id, patron: patron))
        #expect(base != RecordAssociatedData.bytes(kind: .loan, id: otherID, patron: patron))
        #expect(base != RecordAssociatedData.bytes(kind: .loan, id: id, patron: other))
        #expect(RecordAssociatedData.patronKey(patron: patron, kekVersion: 1) != RecordAssociatedData.patronKey(patron: patron, kekVersion: 2))
    }

    @Test("dates are strict YYYY-MM-DD and errors name the field, not the value")
    func calendarDays() throws {
        #expect(try CalendarDay(parsing: "1970-01-02", field: "x").daysSinceEpoch == 1)
        #expect(try CalendarDay(parsing: "2024-02-29", field: "x").description == "2024-02-29")
        #expect(try CalendarDay(parsing: "2026-11-22", field: "x").month == "2026-11")
        for bad in ["2023-02-29", "2026-13-01", "26-11-22", "2026-1-22", "2026-11-22T00", "２０２６-11-22", ""] {
            do {
                _ = try CalendarDay(parsing: bad, field: "due date")
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.message == "due date is not a valid date; expected YYYY-MM-DD")
            }
        }
    }

    @Test("field rules normalise and refuse without echoing")
    func fieldRules() throws {
        #expect(try FieldRules.barcode("  ab-12 ", field: "card barcode") == "AB-12")
        #expect(throws: VaultError.self) { try FieldRules.barcode("AB 12", field: "card barcode") }
        #expect(throws: VaultError.self) { try FieldRules.barcode("ÄB12", field: "card barcode") }
        #expect(try FieldRules.email(" Ada@Example.ORG ") == "ada@example.org")
        for bad in ["ada", "ada@", "@example.org", "ada@example", "a da@example.org", "ada@.example.org"] {
            do { _ = try FieldRules.email(bad); Issue.record("accepted \(bad)") } catch { #expect(!error.message.contains(bad)) }
        }
        #expect(throws: VaultError.self) { try FieldRules.text("line\u{0007}bell", field: "name") }
        #expect(throws: VaultError.self) { try FieldRules.text("   ", field: "name") }
        #expect(FieldRules.normalizedName("  Zoë   ÅNGSTRÖM ") == FieldRules.normalizedName("zoe angstrom"))
    }
}

/// Days and instants are written digit by digit on hot paths; they must read exactly as
/// Foundation's formatters write them, which front ends and older exports used.
@Suite("Days and instants as text")
struct DayAndInstantTextTests {
    @Test("a day reads as String(format:) writes it, across eras and edge days")
    func days() {
        var generator = SystemRandomNumberGenerator()
        let edges: [Int64] = [0, -1, 59, 60, 365, 10_956, 11_016, 2_932_896, -719_162, 19_000, 20_453]
        for days in edges + (0..<2_000).map({ _ in Int64.random(in: -719_162...2_932_896, using: &generator) }) {
            let day = CalendarDay(daysSinceEpoch: days)
            let (y, m, d) = day.civil
            #expect(day.description == String(format: "%04d-%02d-%02d", y, m, d))
            #expect(day.month == String(format: "%04d-%02d", y, m))
        }
    }

    @Test("an instant reads as formatted(.iso8601) writes it, fractions of a second dropped")
    func instants() {
        let edges: [Double] = [0, 0.999, 59.5, 86_399.9, 951_782_400, 1_795_729_114.485, 253_402_300_799]
        for seconds in edges + (0..<2_000).map({ _ in Double.random(in: 0...4_102_444_800) }) {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(date.iso8601Text == date.formatted(.iso8601), "\(seconds)")
        }
    }
}
