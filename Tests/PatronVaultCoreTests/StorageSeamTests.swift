import Foundation
import GRDB
import Testing
@testable import PatronVaultCore

/// The vault over injected stores: the real SQLite key store, and a record store whose record
/// inserts fail, to show that the two-file rule takes back the keys it wrote first.
@Suite("Storage seam")
struct StorageSeamTests {
    @Test(
        "writes whose records fail leave no keys, no patron and no record behind, and the vault works after",
        arguments: FailingRecordStore.Failure.allCases)
    func failedWritesLeaveNothing(_ failure: FailingRecordStore.Failure) async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "OK1"), pin: VaultFixture.pin("2468"), by: fixture.admin)
            await fixture.vault.close()
            let before = try StoredState(fixture)
            #expect(try fixture.count("SELECT count(*) FROM patron_key", in: SQLiteStorage.keysFileName) == 1)
            #expect(try fixture.count("SELECT count(*) FROM record_key", in: SQLiteStorage.keysFileName) == 1)

            let real = try SQLiteStorage.open(directory: fixture.directory, create: false)
            let storage = VaultStorage(records: FailingRecordStore(base: real.records, failure: failure), keys: real.keys)
            let failing = try await Vault.open(
                directory: fixture.directory, storage: storage, masterKey: .keyFile(fixture.keyFile), policies: VaultFixture.shippedPolicies,
                configuration: fixture.configuration)
            let expected: VaultError.Kind = failure == .storage ? .storageFailure : .alreadyExists
            let attempts: [(String, @Sendable () async throws -> Void)] = [
                ("registration", {
                    try await failing.desk.registerPatron(VaultFixture.registration(card: "F1"), pin: VaultFixture.pin("1357"), by: fixture.admin)
                }),
                ("import", {
                    let batch = ["F2", "F3"].map { PatronImport(registration: VaultFixture.registration(card: $0)) }
                    _ = try await failing.desk.importPatrons(batch, by: fixture.admin)
                }),
                ("checkout", {
                    _ = try await failing.desk.checkout(card: "OK1", item: "IT1", title: "T", author: nil, due: nil, branch: nil, by: fixture.admin)
                }),
            ]
            for (name, attempt) in attempts {
                do {
                    try await attempt()
                    Issue.record("the \(name) succeeded though its records could not be written")
                } catch let error as VaultError {
                    #expect(error.kind == expected, "\(name): \(error.message)")
                }
            }
            await failing.close()

            #expect(try fixture.count("SELECT count(*) FROM patron_key", in: SQLiteStorage.keysFileName) == 1)
            #expect(try fixture.count("SELECT count(*) FROM record_key", in: SQLiteStorage.keysFileName) == 1)
            #expect(try fixture.count("SELECT count(*) FROM patron", in: SQLiteStorage.recordsFileName) == 1)
            #expect(try fixture.count("SELECT count(*) FROM record", in: SQLiteStorage.recordsFileName) == 1)
            #expect(try StoredState(fixture).data == before.data)

            let vault = try await fixture.reopened()
            try await vault.desk.registerPatron(VaultFixture.registration(card: "F1"), pin: VaultFixture.pin("1357"), by: fixture.admin)
            _ = try await vault.desk.checkout(card: "OK1", item: "IT1", title: "T", author: nil, due: nil, branch: nil, by: fixture.admin)
            #expect(try await vault.desk.patronProfile(card: "OK1", purpose: "circulation", by: fixture.admin).openLoans?.map(\.item) == ["IT1"])
            let patron = try await vault.signIn.patron(card: "F1", pin: VaultFixture.pin("1357"))
            #expect(try await vault.selfService.myProfile(by: patron).registration.cardBarcode == "F1")
            #expect(try await vault.oversight.verifyAudit(against: nil, by: fixture.admin).isIntact)
            await vault.close()
        }
    }

    @Test("a bulk deletion given other rows than its selection matches deletes nothing and fails as an integrity error")
    func bulkDeletionChecksItsCount() async throws {
        try await VaultFixture.with { fixture in
            try await fixture.vault.desk.registerPatron(
                VaultFixture.registration(card: "BD1", history: .keep), pin: VaultFixture.pin("2468"), by: fixture.admin)
            for item in ["BD-I1", "BD-I2", "BD-I3"] {
                _ = try await fixture.vault.desk.checkout(card: "BD1", item: item, title: "T", author: nil, due: nil, branch: nil, by: fixture.admin)
                _ = try await fixture.vault.desk.returnItem(item, by: fixture.admin)
            }
            await fixture.vault.close()

            let queue = try DatabaseQueue(path: fixture.directory.appendingPathComponent(SQLiteStorage.recordsFileName).path)
            defer { try? queue.close() }
            let patron = try await queue.read { db in PatronPseudonym(bytes: Array(try Data.fetchOne(db, sql: "SELECT pseudonym FROM patron")!)) }
            let closed = try await queue.read { db in
                try SQLiteRecordTransaction(db: db).recordHeaders(patron: patron).filter(RecordSelection.closedLoans.matches)
            }
            #expect(closed.count == 3)
            for rows in [Array(closed.dropLast()), closed + closed.prefix(1)] {
                await #expect(throws: VaultError.self) {
                    try await queue.write { db in
                        try SQLiteRecordTransaction(db: db).deleteQueueingShreds(rows.map { ($0, [UInt8](repeating: 1, count: 32)) }, patron: patron, selection: .closedLoans)
                    }
                }
            }
            #expect(try fixture.count("SELECT count(*) FROM record WHERE state = 1", in: SQLiteStorage.recordsFileName) == 3)
            #expect(try fixture.count("SELECT count(*) FROM pending_shred", in: SQLiteStorage.recordsFileName) == 0)
        }
    }
}
