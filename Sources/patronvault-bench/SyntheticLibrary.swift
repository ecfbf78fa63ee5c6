import Foundation
import PatronVaultCore

/// Deterministic made-up patrons and loans with realistic field sizes, so every run measures
/// the same work.
struct SyntheticLibrary: Sendable {
    static let given = ["Ada", "Barnaby", "Cecily", "Desmond", "Eleanor", "Fergus", "Greta", "Horace", "Imogen", "Jasper", "Kit", "Lavinia"]
    static let family = ["Lovelace", "Quillfeather", "Marchbanks", "Okonkwo", "Nakamura", "Fitzgerald", "Sørensen", "Castellanos", "Abernathy"]
    static let words = ["Quiet", "River", "Salt", "Garden", "Winter", "Lantern", "Cartographer", "Grammar", "Hidden", "Orchard", "Harbour", "Night"]

    let patrons: Int
    let loansPerPatron: Int
    let start = Date(timeIntervalSince1970: 1_795_000_000)

    func card(_ i: Int) -> String { "C\(String(format: "%09d", i))" }
    func item(patron i: Int, loan j: Int) -> String { "I\(String(format: "%09d", i))-\(j)" }
    /// Cards are issued in order, as libraries do; names and emails arrive in no order.
    func scrambled(_ i: Int) -> String { String(UInt32(truncatingIfNeeded: i &* 2_654_435_761), radix: 36) }
    func name(_ i: Int) -> String { "\(Self.given[(i / 3) % Self.given.count]) \(Self.family[(i / 7) % Self.family.count])-\(scrambled(i))" }
    func email(_ i: Int) -> String { "\(scrambled(i)).\(i % 97)@mail.example.org" }
    func title(_ i: Int, _ j: Int) -> String {
        "The \(Self.words[(i + j) % Self.words.count]) of \(Self.words[(i * 3 + j) % Self.words.count]) volume \(j)"
    }

    func registration(_ i: Int) -> PatronRegistration {
        PatronRegistration(
            cardBarcode: card(i), fullName: name(i), email: email(i), phone: "+44 20 7946 \(String(format: "%04d", i % 10_000))",
            postalAddress: "\(i % 300 + 1) Orchard Lane, Flat \(i % 40), Riverton RT\(i % 9) 4QX", birthDate: CalendarDay(daysSinceEpoch: Int64(3_000 + i % 15_000)),
            homeBranch: "branch-\(i % 5)", category: i % 3 == 0 ? "child" : "adult", cardExpiry: CalendarDay(daysSinceEpoch: 21_500),
            history: i % 2 == 0 ? .keep : .discard)
    }

    func loan(_ i: Int, _ j: Int) -> Loan {
        Loan(
            itemBarcode: item(patron: i, loan: j), title: title(i, j), author: "\(Self.given[j % Self.given.count]) \(Self.family[i % Self.family.count])",
            branch: "branch-\(i % 5)", checkedOutAt: start, dueOn: CalendarDay(start).adding(days: 21))
    }

    var recordCount: Int { patrons * (1 + loansPerPatron) }
}
