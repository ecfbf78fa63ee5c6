import Foundation
import PatronVaultAudit
import PatronVaultCore
import Synchronization

/// Whether an audit verification holds up the lookups a desk makes meanwhile: the verify runs on
/// a reader connection, each lookup commits its audit entries through the writer.
enum LookupsDuringVerify {
    struct Figures {
        let entries: Int64
        let verifyAlone: Double
        let verifyBeside: Double
        let lookupsAlone: Int
        let lookupsAloneTime: Double
        /// Lookups finished while the verify was still running, and the time they took.
        let lookupsBeside: Int
        let lookupsBesideTime: Double
        /// Time from the verify's start until two lookups had finished.
        let firstTwo: Double
    }

    static func run(vault: Vault, staff: Principal, cards: [String]) async throws -> Figures {
        var entries: Int64 = 0
        let alone = try await seconds { entries = try await vault.oversight.verifyAudit(against: nil, by: staff).entryCount }
        let lookupsAloneTime = try await seconds {
            for card in cards { _ = try await vault.desk.patronProfile(card: card, purpose: "circulation", by: staff) }
        }
        let verifying = VerifyRunning()
        let start = ContinuousClock.now
        let (verifyTime, beside) = try await withThrowingTaskGroup(of: (Double?, (Int, Double, Double)?).self) { group in
            group.addTask {
                _ = try await vault.oversight.verifyAudit(against: nil, by: staff)
                verifying.flag.store(false, ordering: .releasing)
                return (elapsed(since: start), nil)
            }
            group.addTask {
                var done = 0
                var firstTwo = 0.0
                var last = 0.0
                var index = 0
                while verifying.flag.load(ordering: .acquiring) {
                    _ = try await vault.desk.patronProfile(card: cards[index % cards.count], purpose: "circulation", by: staff)
                    index += 1
                    guard verifying.flag.load(ordering: .acquiring) else { break }
                    done += 1
                    last = elapsed(since: start)
                    if done == 2 { firstTwo = last }
                }
                return (nil, (done, last, firstTwo))
            }
            var verifyTime = 0.0
            var beside = (0, 0.0, 0.0)
            for try await (time, lookups) in group {
                if let time { verifyTime = time }
                if let lookups { beside = lookups }
            }
            return (verifyTime, beside)
        }
        return Figures(
            entries: entries, verifyAlone: alone, verifyBeside: verifyTime, lookupsAlone: cards.count, lookupsAloneTime: lookupsAloneTime,
            lookupsBeside: beside.0, lookupsBesideTime: beside.1, firstTwo: beside.2)
    }

    private static func elapsed(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Set while the verify runs; the lookup loop stops counting when it clears.
private final class VerifyRunning: Sendable {
    let flag = Atomic<Bool>(true)
}
