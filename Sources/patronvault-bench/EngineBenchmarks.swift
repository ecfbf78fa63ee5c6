import Foundation
import GRDB
import PatronVaultAudit
import PatronVaultCrypto
import PatronVaultPolicy

/// Latency percentiles of single calls of a fast operation, each timed on its own; the cost of
/// reading the clock is measured the same way and reported beside them.
struct Percentiles {
    let p50: Double
    let p99: Double
    let perSecond: Double
    /// Median nanoseconds of an empty timed call: what every sample includes.
    let clockOverhead: Double

    static func measure(calls: Int, _ body: () -> Void) -> Percentiles {
        let clock = ContinuousClock()
        func nanoseconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
        }
        var samples = [Double](repeating: 0, count: calls)
        var empty = [Double](repeating: 0, count: calls)
        let total = clock.measure {
            for index in 0..<calls { samples[index] = nanoseconds(clock.measure { body() }) }
        }
        for index in 0..<calls { empty[index] = nanoseconds(clock.measure {}) }
        samples.sort()
        empty.sort()
        return Percentiles(
            p50: samples[calls / 2], p99: samples[min(calls - 1, calls * 99 / 100)], perSecond: Double(calls) / (nanoseconds(total) / 1e9),
            clockOverhead: empty[calls / 2])
    }
}

enum PolicyBenchmark {
    /// The shipped rules on a mix of the requests the vault makes most.
    static func run(_ policies: PolicySet) -> Percentiles {
        let time = Date(timeIntervalSince1970: 1_795_000_000)
        let requests = [
            PolicyRequest(principalKind: "staff", principalRole: "staff", principalID: "stf-1", principalPatron: nil, action: "patron.read",
                          resourceKind: "registration", resourcePatron: "aa", resourceState: "open", purpose: "circulation", consent: false,
                          legalOrder: false, time: time, frontEnd: "cli"),
            PolicyRequest(principalKind: "staff", principalRole: "staff", principalID: "stf-1", principalPatron: nil, action: "history.read",
                          resourceKind: "history", resourcePatron: "aa", resourceState: "closed", purpose: "circulation", consent: false,
                          legalOrder: false, time: time, frontEnd: "cli"),
            PolicyRequest(principalKind: "patron", principalRole: "patron", principalID: "aa", principalPatron: "aa", action: "history.read",
                          resourceKind: "history", resourcePatron: "aa", resourceState: "closed", purpose: nil, consent: false,
                          legalOrder: false, time: time, frontEnd: "cli"),
            PolicyRequest(principalKind: "staff", principalRole: "admin", principalID: "stf-2", principalPatron: nil, action: "keys.manage",
                          resourceKind: "keys", resourcePatron: nil, resourceState: nil, purpose: nil, consent: false,
                          legalOrder: false, time: time, frontEnd: "cli"),
        ]
        var index = 0
        var permitted = 0
        let result = Percentiles.measure(calls: 200_000) {
            if policies.decide(requests[index & 3]).isPermitted { permitted += 1 }
            index += 1
        }
        precondition(permitted > 0)
        return result
    }
}

enum AuditBenchmark {
    static func draft(_ i: Int, time: Date) -> AuditDraft {
        AuditDraft(
            time: time, principalKind: "staff", principalID: "stf-\(i % 7)", principalRole: "staff", action: "patron.read",
            resourceKind: "registration", patron: String(format: "%032x", i % 50_000), purpose: "circulation", decision: .permit,
            ruleIDs: ["staff-lookup-with-purpose"], policyDigest: String(repeating: "ab", count: 32), frontEnd: "cli", keyVersion: 1)
    }

    /// Appends `entries` (10,000 per transaction) to a fresh trail, then verifies it whole.
    static func run(entries: Int, directory: URL) throws -> (appendPerSecond: Double, verifyPerSecond: Double, intact: Bool) {
        let queue = try PlainBaseline.open("audit.db", in: directory)
        try queue.write { db in try AuditTrail.createSchema(db) }
        let macKey = try SymmetricKey.random()
        let trail = AuditTrail(signingKey: try SigningKey(seed: try SymmetricKey.random()), macKey: macKey)
        let time = Date(timeIntervalSince1970: 1_795_000_000)
        let append = try seconds {
            for start in stride(from: 0, to: entries, by: 10_000) {
                try queue.write { db in
                    for i in start..<min(entries, start + 10_000) { try trail.append(draft(i, time: time), in: db) }
                }
            }
        }
        let verifier = AuditVerifier(verifyingKey: trail.verifyingKey, macKey: macKey)
        var intact = false
        let verify = try seconds {
            intact = try queue.inDatabase { db in try verifier.verify(db).isIntact }
        }
        return (Double(entries) / append, Double(entries) / verify, intact)
    }
}
