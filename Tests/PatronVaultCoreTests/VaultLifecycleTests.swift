import Foundation
import GRDB
import PatronVaultCrypto
import Testing
@testable import PatronVaultCore

@Suite("Vault lifecycle")
struct VaultLifecycleTests {
    @Test("a shred interrupted between the two files is finished on the next open")
    func pendingShredFinishesOnOpen() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "S1"), pin: nil, by: fixture.admin)
            _ = try await vault.desk.checkout(card: "S1", item: "IT1", title: "T", author: nil, due: nil, branch: nil, by: fixture.admin)
            await vault.close()
            // A crash after the records transaction: the row is gone, the shred is queued (with the
            // tag the vault gives it), the key is still in keys.db.
            let recordSet = vault.gate.ring.recordSet
            let records = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            let (patron, id) = try await records.write { db -> (Data, Data) in
                let row = try #require(try Row.fetchOne(db, sql: "SELECT patron, id, version FROM record WHERE kind = ?", arguments: [RecordKind.loan.rawValue]))
                try db.execute(sql: "DELETE FROM record WHERE kind = ?", arguments: [RecordKind.loan.rawValue])
                let tag = recordSet.shredTag(
                    patron: PatronPseudonym(bytes: Array(row["patron"] as Data)), id: RecordID(bytes: Array(row["id"] as Data)), version: row["version"])
                try db.execute(
                    sql: "INSERT INTO pending_shred(record_id, patron, version, tag) VALUES (?, ?, ?, ?)",
                    arguments: [row["id"] as Data, row["patron"] as Data, row["version"] as Int64, Data(tag)])
                return (row["patron"], row["id"])
            }
            try records.close()
            let keyCount = "SELECT count(*) FROM record_key WHERE pseudonym = ? AND record_id = ?"
            #expect(try fixture.count(keyCount, [patron, id], in: SQLiteStorage.keysFileName) == 1)

            let reopened = try await fixture.reopened()
            #expect(try fixture.count(keyCount, [patron, id], in: SQLiteStorage.keysFileName) == 0)
            #expect(try fixture.count("SELECT count(*) FROM pending_shred", in: SQLiteStorage.recordsFileName) == 0)
            let profile = try await reopened.desk.patronProfile(card: "S1", purpose: "circulation", by: fixture.admin)
            #expect(profile.openLoans == [])
            await reopened.close()
        }
    }

    @Test("bulk import seals like registration: lookups, returns and shreds work on imported records")
    func importedRecordsBehaveLikeRegistered() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            let start = VaultFixture.start
            let batch = (0..<300).map { i in
                PatronImport(
                    registration: VaultFixture.registration(card: "B\(i)", name: "Bulk Patron \(i)", history: i % 2 == 0 ? .keep : .discard),
                    loans: [Loan(itemBarcode: "BI\(i)", title: "Title \(i)", author: nil, branch: "east", checkedOutAt: start, dueOn: CalendarDay(start).adding(days: 14))])
            }
            #expect(try await vault.desk.importPatrons(batch, by: fixture.admin) == 600)
            let profile = try await vault.desk.patronProfile(card: "B7", purpose: "patron-request", by: fixture.admin)
            #expect(profile.name == "Bulk Patron 7")
            #expect(profile.openLoans?.map(\.title) == ["Title 7"])
            #expect(try await vault.desk.returnItem("BI7", by: fixture.admin).outcome == .destroyed)
            #expect(try await vault.desk.returnItem("BI8", by: fixture.admin).outcome == .keptAsHistory)
            await #expect(throws: VaultError.self) { try await vault.desk.importPatrons([batch[3]], by: fixture.admin) }
            #expect(try fixture.count("SELECT count(*) FROM patron_key", in: SQLiteStorage.keysFileName) == 300)
        }
    }

    @Test("the wrong key file and a wider key file are refused")
    func keyFileChecks() async throws {
        try await VaultFixture.with { fixture in
            try await VaultFixture.with { other in
                await fixture.vault.close()
                do {
                    let opened = try await Vault.open(at: fixture.directory, masterKey: .keyFile(other.keyFile), policies: VaultFixture.shippedPolicies)
                    await opened.close()
                    Issue.record("opened with another vault's key")
                } catch let error as VaultError {
                    #expect(error.kind == .wrongMasterKey)
                }
                chmod(fixture.keyFile.path, 0o640)
                do {
                    let opened = try await fixture.reopened()
                    await opened.close()
                    Issue.record("opened with a group-readable key file")
                } catch let error as VaultError {
                    #expect(error.kind == .keyFilePermissions)
                }
                chmod(fixture.keyFile.path, 0o600)
                let opened = try await fixture.reopened()
                await opened.close()
            }
        }
    }
}
