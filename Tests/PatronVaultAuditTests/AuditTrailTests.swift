import Foundation
import GRDB
import PatronVaultCrypto
import Testing
@testable import PatronVaultAudit

@Suite("Appending to the audit trail")
struct AuditTrailTests {
    @Test("sequence numbers start at 1 and are contiguous, and an untouched trail verifies")
    func contiguousAndIntact() throws {
        let fixture = try AuditFixture(checkpointInterval: 10)
        try fixture.append(25)
        let sequences = try fixture.queue.read { try Int64.fetchAll($0, sql: "SELECT seq FROM audit_entry ORDER BY seq") }
        #expect(sequences == Array(1...25))

        let result = try fixture.verify()
        #expect(result.isIntact)
        #expect(result.entryCount == 25)
        #expect(result.firstBadSequence == nil)
        #expect(result.checkpointsVerified == 2)
        #expect(result.macChainChecked)
        #expect(try fixture.verify(withMAC: false).isIntact)
    }

    @Test("an empty trail verifies")
    func emptyTrail() throws {
        let fixture = try AuditFixture()
        let result = try fixture.verify()
        #expect(result.isIntact)
        #expect(result.entryCount == 0)
    }

    @Test("createSchema can run again on an existing trail")
    func schemaIsIdempotent() throws {
        let fixture = try AuditFixture()
        try fixture.append(3)
        try fixture.queue.write { try AuditTrail.createSchema($0) }
        try fixture.append(2)
        #expect(try fixture.verify().entryCount == 5)
    }

    @Test("the returned entry is what a query reads back")
    func returnedEntryMatchesStored() throws {
        let fixture = try AuditFixture()
        let appended = try fixture.queue.write { try fixture.trail.append(AuditFixture.draft(4), in: $0) }
        let stored = try fixture.queue.read { try AuditQuery().entries(in: $0) }
        #expect(stored == [appended])
        #expect(appended.sequence == 1)
        #expect(appended.ruleIDs == ["staff-read", "purpose-stated"])
    }

    @Test("a time earlier than the previous entry's is raised to it, so times never go backwards")
    func timesNeverDecrease() throws {
        let fixture = try AuditFixture()
        let (first, second) = try fixture.queue.write { db in
            (try fixture.trail.append(AuditFixture.draft(1, time: AuditFixture.base), in: db),
             try fixture.trail.append(AuditFixture.draft(2, time: AuditFixture.base.addingTimeInterval(-60)), in: db))
        }
        #expect(second.time == first.time)
        #expect(try fixture.verify().isIntact)
    }

    @Test("entries appended together are the entries appended one by one, checkpoints inside the batch included")
    func batchedAppend() throws {
        let single = try AuditFixture(checkpointInterval: 4)
        try single.append(10)
        let batched = try AuditFixture(checkpointInterval: 4)
        let entries = try batched.queue.write { db in
            try batched.trail.append([AuditFixture.draft(1), AuditFixture.draft(2)], in: db)
                + batched.trail.append((3...10).map { AuditFixture.draft($0) }, in: db)
        }
        #expect(entries.map(\.sequence) == Array(1...10))
        let columns = "seq, time, principal_id, action, patron, purpose, decision"
        let one = try single.queue.read { try Row.fetchAll($0, sql: "SELECT \(columns) FROM audit_entry ORDER BY seq") }
        let many = try batched.queue.read { try Row.fetchAll($0, sql: "SELECT \(columns) FROM audit_entry ORDER BY seq") }
        #expect(one == many)
        #expect(try batched.queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM audit_checkpoint") } == 2)
        let verification = try batched.verify()
        #expect(verification.isIntact)
        #expect(verification.checkpointsVerified == 2)
    }

    @Test("a checkpoint is signed every N entries and on demand")
    func checkpoints() throws {
        let fixture = try AuditFixture(checkpointInterval: 4)
        try fixture.append(9)
        let latest = try fixture.queue.read { try fixture.trail.latestCheckpoint(in: $0) }
        #expect(latest?.size == 8)
        #expect(latest?.isValid(for: fixture.trail.verifyingKey) == true)

        let onDemand = try fixture.queue.write { try fixture.trail.checkpoint(at: Date(), in: $0) }
        #expect(onDemand.size == 9)
        let again = try fixture.queue.write { try fixture.trail.checkpoint(at: Date().addingTimeInterval(5), in: $0) }
        #expect(again == onDemand)
        #expect(try fixture.queue.read { try fixture.trail.latestCheckpoint(in: $0) } == onDemand)
        #expect(try fixture.verify().checkpointsVerified == 3)
    }

    @Test("plaintext where a pseudonym belongs is refused, and nothing is written")
    func refusesPlaintextPatron() throws {
        let fixture = try AuditFixture()
        var draft = AuditFixture.draft(1)
        draft.patron = "Ada Lovelace"
        #expect(throws: AuditError.self) {
            try fixture.queue.write { try fixture.trail.append(draft, in: $0) }
        }
        var selfService = AuditFixture.draft(1)
        selfService.principalKind = "patron"
        selfService.principalID = "ada@example.org"
        #expect(throws: AuditError.self) {
            try fixture.queue.write { try fixture.trail.append(selfService, in: $0) }
        }
        #expect(try fixture.queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM audit_entry") } == 0)
    }

    @Test("error messages are sentences that do not repeat the offending value")
    func errorsDoNotLeakValues() throws {
        let fixture = try AuditFixture()
        var draft = AuditFixture.draft(1)
        draft.patron = "Ada Lovelace"
        do {
            _ = try fixture.queue.write { try fixture.trail.append(draft, in: $0) }
            Issue.record("append should have failed")
        } catch let error as AuditError {
            #expect(!error.description.contains("Ada"))
            #expect(error.description.hasSuffix("."))
        }
    }

    @Test("rule ids must be non-empty and comma-free, so the stored list decodes to one value")
    func refusesAmbiguousRuleIDs() throws {
        let fixture = try AuditFixture()
        var draft = AuditFixture.draft(1)
        draft.ruleIDs = ["a,b"]
        #expect(throws: AuditError.self) {
            try fixture.queue.write { try fixture.trail.append(draft, in: $0) }
        }
        draft.ruleIDs = []
        let entry = try fixture.queue.write { try fixture.trail.append(draft, in: $0) }
        #expect(try fixture.queue.read { try AuditQuery().entries(in: $0) } == [entry])
    }

    @Test("an append fails when an entry was inserted behind the trail's back")
    func appendFailsWhenStateIsOutOfStep() throws {
        let fixture = try AuditFixture()
        try fixture.append(3)
        try fixture.execute("""
            INSERT INTO audit_entry SELECT 4, time, principal_kind, principal_id, principal_role, action, resource_kind,
                patron, purpose, decision, rule_ids, policy_digest, front_end, key_version, mac, detail FROM audit_entry WHERE seq = 3
            """)
        #expect(throws: AuditError.self) {
            try fixture.queue.write { try fixture.trail.append(AuditFixture.draft(5), in: $0) }
        }
    }

    @Test("an append fails, failing the caller's operation, when the schema is missing")
    func appendFailsWithoutSchema() throws {
        let fixture = try AuditFixture()
        try fixture.execute("DROP TABLE audit_state")
        #expect(throws: (any Error).self) {
            try fixture.queue.write { try fixture.trail.append(AuditFixture.draft(1), in: $0) }
        }
    }

    @Test("an append outside a transaction is refused, so it cannot outlive a failed operation")
    func appendRequiresTransaction() throws {
        let fixture = try AuditFixture()
        #expect(throws: AuditError.self) {
            try fixture.queue.writeWithoutTransaction { try fixture.trail.append(AuditFixture.draft(1), in: $0) }
        }
    }
}
