import Foundation
import GRDB
import PatronVaultCrypto
import Testing
@testable import PatronVaultAudit

/// The storage-neutral trail a store other than SQLite keeps: built in memory by `extend`, it is
/// the SQLite trail byte for byte, and the row verifier finds what the SQLite verifier finds.
@Suite("The audit trail as stored rows")
struct AuditStoredRowTests {
    @Test("extend builds the chain append builds on SQLite: the same texts, times, MACs, checkpoints and state")
    func sameChainAsSQLite() throws {
        let fixture = try AuditFixture(checkpointInterval: 10)
        let drafts = (1...25).map { AuditFixture.draft($0) } + [detailed(26)]
        try fixture.queue.write { db in try fixture.trail.append(drafts, in: db) }

        var state = AuditTrailState.empty
        var rows: [AuditStoredRow] = []
        var checkpoints: [AuditCheckpoint] = []
        for chunk in [Array(drafts[0..<7]), Array(drafts[7...])] {
            let extended = try fixture.trail.extend(chunk, state: &state)
            rows += extended.rows
            checkpoints += extended.checkpoints
        }
        let stored = try fixture.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT \(AuditTrail.entryColumns), mac FROM audit_entry ORDER BY seq").map { row in
                AuditStoredRow(
                    sequence: row[0], time: row[1], texts: (2...12).map { row[$0] as String? }, keyVersion: row[13], detail: row[14],
                    mac: Array(row[15] as Data))
            }
        }
        #expect(rows == stored)
        #expect(checkpoints.map(\.size) == [10, 20])
        let sqliteState = try fixture.queue.read { db in
            try Row.fetchOne(db, sql: "SELECT size, frontier, last_mac, last_time FROM audit_state")!
        }
        #expect(state == (try AuditTrailState(
            size: sqliteState[0], frontier: Array(sqliteState[1] as Data), lastMAC: Array(sqliteState[2] as Data), lastTime: sqliteState[3])))
        #expect(rows.map(\.entry) == (try fixture.queue.read { try AuditQuery().entries(in: $0) }))
    }

    @Test("the row verifier passes an intact trail and names the first entry an edit, a gap or a stale state breaks")
    func rowVerifier() throws {
        let fixture = try AuditFixture(checkpointInterval: 10)
        var state = AuditTrailState.empty
        let extended = try fixture.trail.extend((1...30).map { AuditFixture.draft($0) }, state: &state)
        let verifier = AuditVerifier(verifyingKey: fixture.trail.verifyingKey, macKey: fixture.macKey, checkpointInterval: 10)
        func verify(_ rows: [AuditStoredRow], state: AuditTrailState?, checkpoints: [AuditCheckpoint] = extended.checkpoints) throws -> AuditVerification {
            var iterator = rows.makeIterator()
            return try verifier.verify(checkpoints: checkpoints, nextRow: { iterator.next() }, state: state)
        }
        let intact = try verify(extended.rows, state: state)
        #expect(intact.isIntact && intact.entryCount == 30 && intact.checkpointsVerified == 3)

        var edited = extended.rows
        edited[11].texts[5] = AuditFixture.pseudonym(99)
        #expect(try verify(edited, state: state).firstBadSequence == 12)

        var gap = extended.rows
        gap.remove(at: 4)
        #expect(try verify(gap, state: state).firstBadSequence == 5)

        var planted = extended.rows
        planted[2].texts[7] = "allow"
        #expect(try verify(planted, state: state).firstBadSequence == 3)

        #expect(try !verify(Array(extended.rows.prefix(29)), state: state).isIntact)
        #expect(try verify(extended.rows, state: nil).problem?.contains("state row is missing") == true)
        #expect(try !verify(extended.rows, state: state, checkpoints: Array(extended.checkpoints.prefix(2))).isIntact)
    }

    private func detailed(_ index: Int) -> AuditDraft {
        let base = AuditFixture.draft(index)
        return AuditDraft(
            time: base.time, principalKind: base.principalKind, principalID: base.principalID, principalRole: base.principalRole, action: base.action,
            resourceKind: base.resourceKind, patron: base.patron, purpose: base.purpose, decision: base.decision, ruleIDs: base.ruleIDs,
            policyDigest: base.policyDigest, frontEnd: base.frontEnd, keyVersion: base.keyVersion, detail: "revealed name, card")
    }
}
