import Foundation
import GRDB
import Testing
@testable import PatronVaultCore

/// Keys a killed writer committed without their records are removed on the next open; keys of
/// live records, and of removed records still queued for shredding, are kept.
@Suite("Orphan keys")
struct OrphanKeyTests {
    @Test("orphan patron and record keys are swept on open; every key with an owner stays")
    func sweepOnOpen() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "O1", history: .keep), pin: nil, by: fixture.admin)
            _ = try await vault.desk.checkout(card: "O1", item: "OI1", title: "Kept", author: nil, due: nil, branch: nil, by: fixture.admin)
            await vault.close()
            let keys = SQLiteStorage.keysFileName
            let live = try fixture.count("SELECT count(*) FROM record_key", in: keys)
            #expect(live == 2)

            // A pending shred whose key is still there, as after a crash mid-shred, and keys of a
            // patron whose records never committed, as after a kill between the two commits.
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            let loan = try await records.read { db -> (id: Data, patron: Data, version: Int64) in
                let row = try Row.fetchOne(db, sql: "SELECT id, patron, version FROM record WHERE kind = 2")!
                return (row["id"], row["patron"], row["version"])
            }
            let keyStore = try DatabaseQueue(path: fixture.directory.appendingPathComponent(keys).path)
            let ghost = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
            try await keyStore.write { db in
                try db.execute(sql: "INSERT INTO patron_key(pseudonym, kek_version, wrapped) VALUES (?, 1, x'00')", arguments: [ghost])
                for _ in 0..<3 {
                    try db.execute(
                        sql: "INSERT INTO record_key(pseudonym, record_id, wrapped) VALUES (?, ?, x'00')",
                        arguments: [ghost, Data((0..<16).map { _ in UInt8.random(in: 0...255) })])
                }
            }
            let tag = vault.gate.ring.recordSet.shredTag(
                patron: PatronPseudonym(bytes: Array(loan.patron)), id: RecordID(bytes: Array(loan.id)), version: loan.version)
            try await records.write { db in
                try db.execute(sql: "DELETE FROM record WHERE id = ?", arguments: [loan.id])
                try db.execute(
                    sql: "INSERT INTO pending_shred(record_id, patron, version, tag) VALUES (?, ?, ?, ?)",
                    arguments: [loan.id, loan.patron, loan.version, Data(tag)])
            }
            try records.close()
            try keyStore.close()

            let reopened = try await fixture.reopened()
            #expect(try fixture.count("SELECT count(*) FROM patron_key WHERE pseudonym = ?", [ghost], in: keys) == 0)
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE pseudonym = ?", [ghost], in: keys) == 0)
            // The queued shred was finished by the open too; the registration's key stays.
            #expect(try fixture.count("SELECT count(*) FROM record_key", in: keys) == 1)
            #expect(try await reopened.desk.patronProfile(card: "O1", purpose: "circulation", by: fixture.admin).card == "O1")
            await reopened.close()
        }
    }
}
