import Foundation
import GRDB
import PatronVaultCrypto
import Testing
@testable import PatronVaultAudit

@Suite("Tampering with the audit trail is detected")
struct AuditTamperTests {
    @Test("editing one field of one entry is pinned to that entry")
    func editedField() throws {
        let fixture = try AuditFixture()
        try fixture.append(100)
        try fixture.execute("UPDATE audit_entry SET purpose = 'routine' WHERE seq = 37")
        let result = try fixture.verify()
        #expect(!result.isIntact)
        #expect(result.firstBadSequence == 37)
        #expect(result.problem != nil)
    }

    @Test("an edit is still pinned when the attacker recomputes the plain hashes")
    func editedWithRecomputedHashes() throws {
        let fixture = try AuditFixture()
        try fixture.append(100)
        try fixture.execute("UPDATE audit_entry SET principal_id = 'staff-1' WHERE seq = 88")
        try fixture.forgeConsistentState()
        #expect(try fixture.verify().firstBadSequence == 88)
    }

    @Test("deleting one entry is pinned to it")
    func deletedEntry() throws {
        let fixture = try AuditFixture()
        try fixture.append(100)
        try fixture.execute("DELETE FROM audit_entry WHERE seq = 37")
        #expect(try fixture.verify().firstBadSequence == 37)
        #expect(try fixture.verify(withMAC: false).firstBadSequence == 37)
    }

    @Test("swapping two entries' contents is pinned to the earlier one")
    func swappedEntries() throws {
        let fixture = try AuditFixture()
        try fixture.append(100)
        try fixture.queue.write { db in
            let columns = "time, principal_kind, principal_id, principal_role, action, resource_kind, patron, purpose, decision, rule_ids, policy_digest, front_end, key_version, mac"
            let first = try Row.fetchOne(db, sql: "SELECT \(columns) FROM audit_entry WHERE seq = 40")!
            let second = try Row.fetchOne(db, sql: "SELECT \(columns) FROM audit_entry WHERE seq = 41")!
            let assignments = columns.split(separator: ",").map { "\($0.trimmingCharacters(in: .whitespaces)) = ?" }.joined(separator: ", ")
            try db.execute(sql: "UPDATE audit_entry SET \(assignments) WHERE seq = 40", arguments: StatementArguments(second.databaseValues))
            try db.execute(sql: "UPDATE audit_entry SET \(assignments) WHERE seq = 41", arguments: StatementArguments(first.databaseValues))
        }
        #expect(try fixture.verify().firstBadSequence == 40)
    }

    @Test("a forged entry appended with plausible values is pinned to it")
    func forgedAppend() throws {
        let fixture = try AuditFixture()
        try fixture.append(100)
        try fixture.execute(
            """
            INSERT INTO audit_entry VALUES (101, (SELECT time FROM audit_entry WHERE seq = 100) + 1, 'staff', 'staff-7',
                'circulation', 'patron.read', 'patron', ?, 'hold pickup', 'permit', 'staff-read,purpose-stated', '9f2c0e',
                'cli', 1, ?, NULL)
            """,
            [AuditFixture.pseudonym(3), Data(SecureRandom.bytes(32))])
        #expect(try fixture.verify().firstBadSequence == 101)
        #expect(try fixture.verify(withMAC: false).firstBadSequence == 101)

        try fixture.forgeConsistentState()
        #expect(try fixture.verify().firstBadSequence == 101)
    }

    @Test("an entry inserted in the middle is pinned to where it went in")
    func insertedEntry() throws {
        let fixture = try AuditFixture()
        try fixture.append(20)
        try fixture.queue.write { db in
            for seq in stride(from: 20, through: 10, by: -1) {
                try db.execute(sql: "UPDATE audit_entry SET seq = seq + 1 WHERE seq = ?", arguments: [seq])
            }
            try db.execute(sql: """
                INSERT INTO audit_entry SELECT 10, time, principal_kind, principal_id, principal_role, 'patron.export',
                    resource_kind, patron, purpose, decision, rule_ids, policy_digest, front_end, key_version, mac, detail
                FROM audit_entry WHERE seq = 9
                """)
        }
        try fixture.forgeConsistentState()
        #expect(try fixture.verify().firstBadSequence == 10)
    }

    @Test("a time moved earlier than the entry before it is pinned")
    func backdatedEntry() throws {
        let fixture = try AuditFixture()
        try fixture.append(20)
        try fixture.execute("UPDATE audit_entry SET time = (SELECT time FROM audit_entry WHERE seq = 1) - 1 WHERE seq = 12")
        #expect(try fixture.verify(withMAC: false).firstBadSequence == 12)
    }

    @Test("truncating the last 10 entries is caught by a stored checkpoint that covers them")
    func truncationUnderStoredCheckpoint() throws {
        let fixture = try AuditFixture(checkpointInterval: 50)
        try fixture.append(100)
        try fixture.execute("DELETE FROM audit_entry WHERE seq > 90")
        try fixture.forgeConsistentState()
        let result = try fixture.verify()
        #expect(!result.isIntact)
        #expect(result.firstBadSequence == 91)
        #expect(try fixture.verify(withMAC: false).firstBadSequence == 91)
    }

    @Test("truncation that also removes the checkpoints and rewinds the state needs an external checkpoint")
    func truncationCaughtByExternalCheckpoint() throws {
        let fixture = try AuditFixture()
        try fixture.append(100)
        let exported = try fixture.queue.write { try fixture.trail.checkpoint(at: Date(), in: $0) }.text

        try fixture.execute("DELETE FROM audit_entry WHERE seq > 90")
        try fixture.execute("DELETE FROM audit_checkpoint")
        try fixture.forgeConsistentState()

        #expect(try fixture.verify().isIntact, "without an outside copy, a rewound trail is indistinguishable from a shorter one")
        let external = try AuditCheckpoint.parse(text: exported)
        let result = try fixture.verify(against: external)
        #expect(!result.isIntact)
        #expect(result.firstBadSequence == 91)
        #expect(try fixture.verify(withMAC: false, against: external).firstBadSequence == 91)
    }

    @Test("a rewrite that keeps the size is caught by an external checkpoint without the MAC key")
    func rewriteCaughtByExternalCheckpoint() throws {
        let fixture = try AuditFixture()
        try fixture.append(100)
        let external = try fixture.queue.write { try fixture.trail.checkpoint(at: Date(), in: $0) }
        try fixture.execute("DELETE FROM audit_checkpoint")
        try fixture.execute("UPDATE audit_entry SET action = 'patron.export' WHERE seq = 64")
        try fixture.forgeConsistentState()
        #expect(try fixture.verify(withMAC: false).isIntact)
        let result = try fixture.verify(withMAC: false, against: external)
        #expect(!result.isIntact)
        #expect(result.firstBadSequence.map { $0 <= 64 } == true)
    }

    @Test("a replaced checkpoint signature fails, naming the checkpoint's size")
    func replacedCheckpointSignature() throws {
        let fixture = try AuditFixture(checkpointInterval: 50)
        try fixture.append(100)
        try fixture.execute("UPDATE audit_checkpoint SET signature = ? WHERE size = 50", [Data(SecureRandom.bytes(64))])
        let result = try fixture.verify()
        #expect(!result.isIntact)
        #expect(result.firstBadSequence == 50)
        #expect(try fixture.verify(withMAC: false).firstBadSequence == 50)
    }

    @Test("a checkpoint re-signed with another key fails")
    func checkpointSignedByAnotherKey() throws {
        let fixture = try AuditFixture(checkpointInterval: 50)
        try fixture.append(50)
        let intruder = AuditTrail(signingKey: try SigningKey(seed: try SymmetricKey.random()), macKey: try SymmetricKey.random())
        let forged = try fixture.queue.write { db in
            try db.execute(sql: "DELETE FROM audit_checkpoint")
            return try intruder.checkpoint(at: Date(), in: db)
        }
        #expect(forged.size == 50)
        #expect(try fixture.verify(withMAC: false).firstBadSequence == 50)
    }

    @Test("without the MAC key, an edit covered by a signed checkpoint is still caught")
    func publicVerifierCatchesCoveredEdit() throws {
        let fixture = try AuditFixture(checkpointInterval: 50)
        try fixture.append(120)
        try fixture.execute("UPDATE audit_entry SET decision = 'forbid' WHERE seq = 77")
        try fixture.forgeConsistentState()
        let result = try fixture.verify(withMAC: false)
        #expect(!result.isIntact)
        #expect(!result.macChainChecked)
        #expect(result.firstBadSequence == 51, "the verifier can narrow it to the entries after the last good checkpoint")
        #expect(try fixture.verify().firstBadSequence == 77)
    }

    @Test("without the MAC key, a naive edit after the last checkpoint is caught by the state")
    func publicVerifierCatchesUncoveredNaiveEdit() throws {
        let fixture = try AuditFixture(checkpointInterval: 50)
        try fixture.append(60)
        try fixture.execute("UPDATE audit_entry SET action = 'patron.export' WHERE seq = 55")
        let result = try fixture.verify(withMAC: false)
        #expect(!result.isIntact)
        #expect(result.firstBadSequence == 51)
    }

    @Test("an external checkpoint not signed by the audit key is refused")
    func unsignedExternalCheckpoint() throws {
        let fixture = try AuditFixture()
        try fixture.append(10)
        let intruder = AuditTrail(signingKey: try SigningKey(seed: try SymmetricKey.random()), macKey: try SymmetricKey.random())
        let foreign = try fixture.queue.write { try intruder.checkpoint(at: Date(), in: $0) }
        #expect(throws: AuditError.self) { try fixture.verify(against: foreign) }
    }
}

@Suite("Tampering deep in a long trail is detected")
struct AuditLongTrailTamperTests {
    /// Longer than one verifier batch, so reading and hashing run on two threads.
    static let length = 10_000

    @Test("a long trail verifies, and an edit far into it is pinned with and without the MAC key")
    func editedDeepEntry() throws {
        let fixture = try AuditFixture()
        try fixture.append(Self.length)
        let intact = try fixture.verify()
        #expect(intact.isIntact, "\(intact.problem ?? "")")
        #expect(intact.entryCount == Int64(Self.length))
        #expect(intact.checkpointsVerified == 10)

        try fixture.execute("UPDATE audit_entry SET action = 'patron.export' WHERE seq = 9500")
        let result = try fixture.verify()
        #expect(result.firstBadSequence == 9500)
        #expect(result.entryCount == 9499)
        #expect(try fixture.verify(withMAC: false).firstBadSequence == 9001)
    }

    @Test("a malformed row in a later batch is pinned after every entry before it was hashed")
    func malformedDeepEntry() throws {
        let fixture = try AuditFixture()
        try fixture.append(Self.length)
        try fixture.execute("UPDATE audit_entry SET decision = 'maybe' WHERE seq = 6000")
        let result = try fixture.verify()
        #expect(!result.isIntact)
        #expect(result.firstBadSequence == 6000)
        #expect(result.entryCount == 5999)
        #expect(result.checkpointsVerified == 5)
    }

    @Test("an entry's detail is hashed: editing, removing or adding one is pinned to that entry, and entries without one verify as before")
    func detailIsCovered() throws {
        let fixture = try AuditFixture()
        try fixture.append(20)
        try fixture.queue.write { db in
            var draft = AuditFixture.draft(21, action: "retention.manage")
            draft.detail = "kept-history: 120 records of 15 patrons destroyed"
            let entry = try fixture.trail.append(draft, in: db)
            #expect(entry.detail == draft.detail)
            var plain = AuditFixture.draft(22)
            plain.detail = nil
            try fixture.trail.append(plain, in: db)
        }
        #expect(try fixture.verify().isIntact)
        #expect(try fixture.queue.read { db in try String.fetchOne(db, sql: "SELECT detail FROM audit_entry WHERE seq = 21") }
            == "kept-history: 120 records of 15 patrons destroyed")
        for (sql, sequence) in [
            ("UPDATE audit_entry SET detail = 'kept-history: 1 records of 1 patrons destroyed' WHERE seq = 21", Int64(21)),
            ("UPDATE audit_entry SET detail = NULL WHERE seq = 21", 21),
            ("UPDATE audit_entry SET detail = 'added' WHERE seq = 22", 22),
            ("UPDATE audit_entry SET detail = '' WHERE seq = 22", 22),
        ] {
            let copy = try AuditFixture()
            try copy.append(20)
            try copy.queue.write { db in
                var draft = AuditFixture.draft(21, action: "retention.manage")
                draft.detail = "kept-history: 120 records of 15 patrons destroyed"
                try copy.trail.append([draft, AuditFixture.draft(22)], in: db)
            }
            #expect(try copy.verify().isIntact)
            try copy.execute(sql)
            let result = try copy.verify()
            #expect(result.firstBadSequence == sequence, "\(sql)")
        }
    }
}
