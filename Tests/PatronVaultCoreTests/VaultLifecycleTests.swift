import Foundation
import GRDB
import PatronVaultCrypto
import Testing
@testable import PatronVaultCore

@Suite("Vault lifecycle and shredding")
struct VaultLifecycleTests {
    @Test("a shred interrupted between the two files is finished on the next open")
    func pendingShredFinishesOnOpen() throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = fixture.vault
        try vault.registerPatron(VaultFixture.registration(card: "S1"), pin: nil, by: fixture.admin)
        _ = try vault.checkout(card: "S1", item: "IT1", title: "T", author: nil, due: nil, branch: nil, by: fixture.admin)
        // Simulate a crash after the records transaction: the row is gone, the shred is queued,
        // the key is still in keys.db.
        let (patron, id) = try vault.storage.records.write { db -> (Data, Data) in
            let row = try Row.fetchOne(db, sql: "SELECT patron, id FROM record WHERE kind = 2")!
            try db.execute(sql: "DELETE FROM record WHERE kind = 2")
            try db.execute(sql: "INSERT INTO pending_shred(record_id, patron) VALUES (?, ?)", arguments: [row["id"] as Data, row["patron"] as Data])
            return (row["patron"], row["id"])
        }
        let keyCount = { try VaultStorage.read(vault.storage.keys) { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key WHERE pseudonym = ? AND record_id = ?", arguments: [patron, id]) } }
        #expect(try keyCount() == 1)
        let reopened = try fixture.reopened(with: VaultFixture.shippedPolicies)
        #expect(try VaultStorage.read(reopened.storage.keys) { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key WHERE record_id = ?", arguments: [id]) } == 0)
        #expect(try VaultStorage.read(reopened.storage.records) { try Int.fetchOne($0, sql: "SELECT count(*) FROM pending_shred") } == 0)
    }

    @Test("a failed registration leaves no keys behind")
    func failedRegistrationLeavesNothing() throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        try fixture.vault.registerPatron(VaultFixture.registration(card: "D1"), pin: nil, by: fixture.admin)
        #expect(throws: VaultError.self) { try fixture.vault.registerPatron(VaultFixture.registration(card: "d1"), pin: nil, by: fixture.admin) }
        #expect(try VaultStorage.read(fixture.vault.storage.keys) { try Int.fetchOne($0, sql: "SELECT count(*) FROM patron_key") } == 1)
        #expect(try VaultStorage.read(fixture.vault.storage.keys) { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key") } == 1)
    }

    @Test("bulk import seals like registration: lookups, returns and shreds work on imported records")
    func importedRecordsBehaveLikeRegistered() throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        let batch = (0..<300).map { i in
            PatronImport(
                registration: VaultFixture.registration(card: "B\(i)", name: "Bulk Patron \(i)", history: i % 2 == 0 ? .keep : .discard),
                loans: [Loan(itemBarcode: "BI\(i)", title: "Title \(i)", author: nil, branch: "east", checkedOutAt: start, dueOn: CalendarDay(start).adding(days: 14))])
        }
        #expect(try fixture.vault.importPatrons(batch, by: fixture.admin) == 600)
        let profile = try fixture.vault.patronProfile(card: "B7", purpose: "circulation", by: fixture.admin)
        #expect(profile.registration.fullName == "Bulk Patron 7")
        #expect(profile.openLoans.map(\.title) == ["Title 7"])
        #expect(try fixture.vault.returnItem("BI7", by: fixture.admin).outcome == .destroyed)
        #expect(try fixture.vault.returnItem("BI8", by: fixture.admin).outcome == .keptAsHistory)
        #expect(throws: VaultError.self) { try fixture.vault.importPatrons([batch[3]], by: fixture.admin) }
    }

    @Test("the wrong key file and a wider key file are refused")
    func keyFileChecks() throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let other = try VaultFixture()
        defer { other.remove() }
        do {
            _ = try Vault.open(at: fixture.directory, masterKey: .keyFile(other.keyFile), policies: VaultFixture.shippedPolicies)
            Issue.record("opened with another vault's key")
        } catch { #expect(error.kind == .wrongMasterKey) }
        chmod(fixture.keyFile.path, 0o640)
        do {
            _ = try fixture.reopened(with: VaultFixture.shippedPolicies)
            Issue.record("opened with a group-readable key file")
        } catch let error as VaultError { #expect(error.kind == .keyFilePermissions) }
    }
}
