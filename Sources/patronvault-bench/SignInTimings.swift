import Foundation
import PatronVaultCore

/// Whether a failed sign-in's wall time tells a guesser anything: the medians for a wrong PIN on a
/// known card, an unknown card, a card with no PIN and a locked card, measured side by side in one
/// long-running process at the shipped Argon2id cost.
enum SignInTimings {
    struct Medians {
        let knownCard: Double
        let unknownCard: Double
        let noPIN: Double
        let locked: Double
    }

    static func run(vault: Vault, staff: Principal, samples: Int = 12) async throws -> Medians {
        let withPIN = (0..<((samples + 3) / 4)).map { "TIMING-P\($0)" }
        for card in withPIN + ["TIMING-LOCKED"] {
            try await vault.desk.registerPatron(
                PatronRegistration(cardBarcode: card, fullName: "Timing \(card)", email: "\(card.lowercased())@example.org"),
                pin: Array("2468".utf8), by: staff)
        }
        try await vault.desk.registerPatron(
            PatronRegistration(cardBarcode: "TIMING-NOPIN", fullName: "Timing No PIN", email: "nopin@example.org"), pin: nil, by: staff)
        for _ in 0..<5 { _ = try? await vault.signIn.patron(card: "TIMING-LOCKED", pin: Array("0000".utf8)) }

        var known: [Double] = []
        var unknown: [Double] = []
        var noPIN: [Double] = []
        var locked: [Double] = []
        for sample in 0..<samples {
            // Interleaved, so drift in the machine's speed touches all four alike; no known card
            // is tried often enough to lock.
            known.append(await time(vault, card: withPIN[sample / 4]))
            unknown.append(await time(vault, card: "TIMING-NOBODY-\(sample)"))
            noPIN.append(await time(vault, card: "TIMING-NOPIN"))
            locked.append(await time(vault, card: "TIMING-LOCKED"))
        }
        return Medians(knownCard: median(known), unknownCard: median(unknown), noPIN: median(noPIN), locked: median(locked))
    }

    private static func time(_ vault: Vault, card: String) async -> Double {
        let start = ContinuousClock.now
        _ = try? await vault.signIn.patron(card: card, pin: Array("1357".utf8))
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    private static func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }
}
