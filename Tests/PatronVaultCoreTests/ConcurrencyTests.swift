import Foundation
import GRDB
import PatronVaultAudit
import PatronVaultCrypto
import Synchronization
import Testing
@testable import PatronVaultCore

@Suite("Concurrency")
struct ConcurrencyTests {
    /// The size the issue names: a trail of a million entries, verified while lookups go on.
    static let trailEntries = 1_000_000

    /// What finished, in the order it finished.
    final class Finishes: Sendable {
        private let names = Mutex<[String]>([])
        func record(_ name: String) { names.withLock { $0.append(name) } }
        var order: [String] { names.withLock { $0 } }
    }

    @Test("staff lookups complete while an audit verification of a large trail runs on a reader")
    func lookupsDuringVerify() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            for card in ["C1", "C2"] {
                try await vault.desk.registerPatron(VaultFixture.registration(card: card), pin: nil, by: fixture.admin)
            }
            let desk = try await fixture.staff("desk")
            let trail = vault.gate.trail
            let digest = vault.policies.digest
            await vault.close()

            // The trail grown straight in vault.db with the vault's own MAC and signing keys.
            let pseudonyms = (0..<64).map { _ in Hex.encode(SecureRandom.bytes(16)) }
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            // Appended in batches, as group commit appends, so the chain state is read and
            // written once a batch rather than once an entry.
            try await records.write { db in
                for batch in stride(from: 0, to: Self.trailEntries, by: 10_000) {
                    let drafts = (batch..<min(batch + 10_000, Self.trailEntries)).map { index in
                        AuditDraft(
                            time: VaultFixture.start, principalKind: "staff", principalID: desk.id, principalRole: "staff", action: "patron.read",
                            resourceKind: "registration", patron: pseudonyms[index % pseudonyms.count], purpose: "circulation", decision: .permit,
                            ruleIDs: ["staff-lookup-with-purpose"], policyDigest: digest, frontEnd: "cli", keyVersion: 1)
                    }
                    try trail.append(drafts, in: db)
                }
            }
            try records.close()

            let reopened = try await fixture.reopened()
            let finishes = Finishes()
            let verification = Task {
                let result = try await reopened.oversight.verifyAudit(against: nil, by: fixture.admin)
                finishes.record("verify")
                return result
            }
            // The verification is recorded before its read starts: wait for that entry, so the
            // lookups begin while the verification runs.
            let watcher = try fixture.database(SQLiteStorage.recordsFileName)
            while try await watcher.read({ try Int.fetchOne($0, sql: "SELECT count(*) FROM audit_entry WHERE action = 'audit.verify'") }) == 0 {
                try await Task.sleep(for: .milliseconds(2))
            }
            try watcher.close()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for card in ["C1", "C2"] {
                    group.addTask {
                        let profile = try await reopened.desk.patronProfile(card: card, purpose: "circulation", by: desk)
                        finishes.record("lookup")
                        #expect(profile.card == card)
                    }
                }
                try await group.waitForAll()
            }

            let result = try await verification.value
            await reopened.close()
            #expect(finishes.order == ["lookup", "lookup", "verify"])
            #expect(result.isIntact)
            #expect(result.entryCount > Int64(Self.trailEntries))
        }
    }
}
