import Foundation
import GRDB
import Testing
import PatronVaultCrypto
@testable import PatronVaultCore

/// The states a crash between the two files leaves a patron's record set in, and the queue edits
/// that try to have a live record's key destroyed.
@Suite("Record sets across crashes")
struct RecordSetTests {
    static let loanKey = "SELECT count(*) FROM record_key WHERE record_id = (SELECT record_id FROM record_key WHERE settled = 0 LIMIT 1)"

    /// Turns the checked-out loan's settled key back into the state a writer killed right after
    /// its record commit leaves: the key unsettled, its element not in the set.
    static func unsettle(_ fixture: VaultFixture, loan: Data, patron: Data, registration: Data) async throws {
        let recordSet = fixture.vault.gate.ring.recordSet
        let element = recordSet.element(
            patron: PatronPseudonym(bytes: Array(patron)), id: RecordID(bytes: Array(registration)), version: 1, kind: .registration, state: .open)
        let keys = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.keysFileName).path)
        try await keys.write { db in
            try db.execute(sql: "UPDATE record_key SET settled = 0 WHERE record_id = ?", arguments: [loan])
            try db.execute(sql: "UPDATE patron_key SET record_set = ? WHERE pseudonym = ?", arguments: [Data(element), patron])
        }
        try keys.close()
    }

    static func rows(_ fixture: VaultFixture) async throws -> (loan: Data, patron: Data, registration: Data) {
        let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
        defer { try? records.close() }
        return try await records.read { db in
            let loan = try #require(try Row.fetchOne(db, sql: "SELECT id, patron FROM record WHERE kind = 2"))
            let registration = try #require(try Data.fetchOne(db, sql: "SELECT id FROM record WHERE kind = 1"))
            return (loan["id"], loan["patron"], registration)
        }
    }

    @Test("a loan committed but not settled (killed between the two) reads normally and is settled on the next open")
    func committedNotSettled() async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "RS1"), pin: nil, by: fixture.admin)
            _ = try await fixture.vault.desk.checkout(card: "RS1", item: "RS-I1", title: "Unsettled", author: nil, due: nil, branch: nil, by: fixture.admin)
            await fixture.vault.close()
            let (loan, patron, registration) = try await Self.rows(fixture)
            try await Self.unsettle(fixture, loan: loan, patron: patron, registration: registration)

            let reopened = try await fixture.reopened()
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE settled = 0", in: SQLiteStorage.keysFileName) == 0)
            #expect(try await reopened.desk.patronProfile(card: "RS1", purpose: "patron-request", by: fixture.admin).openLoans?.map(\.title) == ["Unsettled"])
            await reopened.close()
        }
    }

    @Test("an unsettled key whose record never committed is ignored by reads and removed on the next open")
    func keyWithoutCommit() async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "RS2"), pin: nil, by: fixture.admin)
            _ = try await fixture.vault.desk.checkout(card: "RS2", item: "RS-I2", title: "Never Committed", author: nil, due: nil, branch: nil, by: fixture.admin)
            await fixture.vault.close()
            let (loan, patron, registration) = try await Self.rows(fixture)
            try await Self.unsettle(fixture, loan: loan, patron: patron, registration: registration)
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            try await records.write { db in try db.execute(sql: "DELETE FROM record WHERE id = ?", arguments: [loan]) }
            try records.close()

            let reopened = try await fixture.reopened()
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE record_id = ?", [loan], in: SQLiteStorage.keysFileName) == 0)
            #expect(try await reopened.desk.patronProfile(card: "RS2", purpose: "circulation", by: fixture.admin).openLoans == [])
            await reopened.close()
        }
    }

    @Test("a deleted loan whose key is settled is never swept as an orphan: the patron's reads fail and the key stays")
    func settledKeyIsNotAnOrphan() async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "RS3"), pin: nil, by: fixture.admin)
            _ = try await fixture.vault.desk.checkout(card: "RS3", item: "RS-I3", title: "Deleted", author: nil, due: nil, branch: nil, by: fixture.admin)
            await fixture.vault.close()
            let (loan, _, _) = try await Self.rows(fixture)
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            try await records.write { db in try db.execute(sql: "DELETE FROM record WHERE id = ?", arguments: [loan]) }
            try records.close()

            let reopened = try await fixture.reopened()
            await #expect(throws: VaultError.integrity) { try await reopened.desk.patronProfile(card: "RS3", purpose: "circulation", by: fixture.admin) }
            _ = await reopened.maintenance.runOnce()
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE record_id = ?", [loan], in: SQLiteStorage.keysFileName) == 1)
            await reopened.close()
        }
    }

    @Test("a shred queued by an edit (no tag, or a forged one) is never carried out", arguments: [false, true])
    func forgedShredIsIgnored(forgedTag: Bool) async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "RS4"), pin: nil, by: fixture.admin)
            _ = try await fixture.vault.desk.checkout(card: "RS4", item: "RS-I4", title: "Kept Alive", author: nil, due: nil, branch: nil, by: fixture.admin)
            await fixture.vault.close()
            let (loan, patron, _) = try await Self.rows(fixture)
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            try await records.write { db in
                try db.execute(
                    sql: "INSERT INTO pending_shred(record_id, patron, version, tag) VALUES (?, ?, 1, ?)",
                    arguments: [loan, patron, forgedTag ? Data(repeating: 7, count: 32) : nil])
            }
            try records.close()

            let reopened = try await fixture.reopened()
            #expect(await reopened.maintenance.runOnce().shredsComplete == false)
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE record_id = ?", [loan], in: SQLiteStorage.keysFileName) == 1)
            #expect(try await reopened.desk.patronProfile(card: "RS4", purpose: "patron-request", by: fixture.admin).openLoans?.map(\.title) == ["Kept Alive"])
            await reopened.close()
        }
    }

    @Test("a patron's set follows every change: checkout, kept return, destroying return, update")
    func setFollowsChanges() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "RS5", history: .keep), pin: nil, by: fixture.admin)
            try await vault.desk.registerPatron(VaultFixture.registration(card: "RS6", name: "Other Patron"), pin: nil, by: fixture.admin)
            for item in ["RS-A", "RS-B"] {
                _ = try await vault.desk.checkout(card: "RS5", item: item, title: item, author: nil, due: nil, branch: nil, by: fixture.admin)
            }
            _ = try await vault.desk.checkout(card: "RS6", item: "RS-C", title: "RS-C", author: nil, due: nil, branch: nil, by: fixture.admin)
            #expect(try await vault.desk.returnItem("RS-A", by: fixture.admin).outcome == .keptAsHistory)
            #expect(try await vault.desk.returnItem("RS-C", by: fixture.admin).outcome == .destroyed)
            var update = PatronUpdate()
            update.phone = "555-0100"
            try await vault.desk.updatePatron(card: "RS5", with: update, by: fixture.admin)
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE settled = 0", in: SQLiteStorage.keysFileName) == 0)
            #expect(try await vault.desk.patronProfile(card: "RS5", purpose: "patron-request", by: fixture.admin).openLoans?.map(\.title) == ["RS-B"])
            #expect(try await vault.desk.patronProfile(card: "RS6", purpose: "circulation", by: fixture.admin).openLoans == [])
            // Every patron's stored set is the XOR of their settled keys' elements.
            let keys = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.keysFileName).path)
            defer { try? keys.close() }
            try await keys.read { db in
                for row in try Row.fetchAll(db, sql: "SELECT pseudonym, record_set FROM patron_key") {
                    let elements = try Data.fetchAll(db, sql: "SELECT element FROM record_key WHERE pseudonym = ? AND settled = 1", arguments: [row[0] as Data])
                    #expect(RecordSetDigest(elements: elements.map { Array($0) }).bytes == Array(row[1] as Data))
                }
            }
        }
    }

    @Test("a key marked unsettled by an edit and settled again at open cannot take its record out of the set")
    func resettledKeyCannotHide() async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "RS7", history: .keep), pin: nil, by: fixture.admin)
            _ = try await fixture.vault.desk.checkout(card: "RS7", item: "RS-I7", title: "Resettled", author: nil, due: nil, branch: nil, by: fixture.admin)
            await fixture.vault.close()
            let (loan, _, _) = try await Self.rows(fixture)
            let keys = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.keysFileName).path)
            try await keys.write { db in try db.execute(sql: "UPDATE record_key SET settled = 0 WHERE record_id = ?", arguments: [loan]) }
            // The open settles the key again: its element is added a second time.
            await (try await fixture.reopened()).close()
            try await keys.write { db in try db.execute(sql: "DELETE FROM record_key WHERE record_id = ?", arguments: [loan]) }
            try keys.close()
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            try await records.write { db in try db.execute(sql: "DELETE FROM record WHERE id = ?", arguments: [loan]) }
            try records.close()

            let reopened = try await fixture.reopened()
            await #expect(throws: VaultError.integrity) { try await reopened.desk.patronProfile(card: "RS7", purpose: "circulation", by: fixture.admin) }
            await reopened.close()
        }
    }

    @Test("deleting only a patron's row does not get the vault to destroy their key: putting the row back restores them")
    func patronRowDeletedKeepsKey() async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "RS8"), pin: nil, by: fixture.admin)
            _ = try await fixture.vault.desk.checkout(card: "RS8", item: "RS-I8", title: "Still Here", author: nil, due: nil, branch: nil, by: fixture.admin)
            await fixture.vault.close()
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            try await records.write { db in
                try db.execute(sql: "CREATE TABLE saved AS SELECT * FROM patron")
                try db.execute(sql: "DELETE FROM patron")
            }
            await (try await fixture.reopened()).maintenance.runOnce()
            #expect(try fixture.count("SELECT count(*) FROM patron_key", in: SQLiteStorage.keysFileName) == 1)
            try await records.write { db in
                try db.execute(sql: "INSERT INTO patron SELECT * FROM saved")
                try db.execute(sql: "DROP TABLE saved")
            }
            try records.close()
            let reopened = try await fixture.reopened()
            #expect(try await reopened.desk.patronProfile(card: "RS8", purpose: "patron-request", by: fixture.admin).openLoans?.map(\.title) == ["Still Here"])
            await reopened.close()
        }
    }

    @Test("a vault sealed by the development build between record sets and staff seals is refused, not rebuilt from its rows")
    func developmentBuildVaultRefused() async throws {
        try await VaultFixture.with { fixture in
            await fixture.vault.close()
            let kek = try KeyFile.read(at: fixture.keyFile)
            let check = XChaCha20Poly1305.seal(
                Array("patronvault.record-sets".utf8), using: kek, authenticating: RecordAssociatedData.systemKey(name: KeyRing.kekCheckName, kekVersion: 1))
            let keys = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.keysFileName).path)
            try await keys.write { db in
                try db.execute(sql: "UPDATE key_meta SET value = ? WHERE name = ?", arguments: [Data(check), KeyRing.kekCheckName])
            }
            try keys.close()
            await #expect(throws: VaultError.self) { try await fixture.reopened() }
        }
    }
}
