import Foundation
import GRDB
import Testing
@testable import PatronVaultCore

/// A discard patron's returned loan is destroyed: its row deleted and its record key shredded
/// from keys.db, checked on the files themselves.
@Suite("Crypto-shredding on return")
struct ShreddingTests {
    static let keys = SQLiteStorage.keysFileName
    static let records = SQLiteStorage.recordsFileName

    /// The id and patron of the one open loan of the item just checked out.
    static func loanRecord(_ fixture: VaultFixture) throws -> (id: Data, patron: Data) {
        let queue = try fixture.database(records)
        defer { try? queue.close() }
        let row = try #require(try queue.read {
            try Row.fetchOne($0, sql: "SELECT id, patron FROM record WHERE kind = ? AND state = ?", arguments: [RecordKind.loan.rawValue, RecordState.open.rawValue])
        })
        return (row["id"], row["patron"])
    }

    /// A read transaction on keys.db left open across calls, as another process's reader would
    /// hold one; commit it to let go.
    static func heldReader(_ fixture: VaultFixture) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: fixture.directory.appendingPathComponent(keys).path, configuration: configuration)
        try reader.inDatabase { db in
            try db.beginTransaction(.deferred)
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM record_key")
        }
        return reader
    }

    @Test("returning a discard patron's loan deletes the loan and its record key, and leaves no queued shred")
    func returnShredsKey() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "D1"), pin: nil, by: fixture.admin)
            _ = try await vault.desk.checkout(card: "D1", item: "IT1", title: "A Title", author: nil, due: nil, branch: nil, by: fixture.admin)
            let loan = try Self.loanRecord(fixture)
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE record_id = ?", [loan.id], in: Self.keys) == 1)

            let returned = try await vault.desk.returnItem("IT1", by: fixture.admin)
            #expect(returned.outcome == .destroyed)
            #expect(try fixture.count("SELECT count(*) FROM record WHERE id = ?", [loan.id], in: Self.records) == 0)
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE record_id = ?", [loan.id], in: Self.keys) == 0)
            #expect(try fixture.count("SELECT count(*) FROM pending_shred", in: Self.records) == 0)
            // The registration and its key stay; only the anonymous statistic remembers the loan.
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE pseudonym = ?", [loan.patron], in: Self.keys) == 1)
            #expect(try await vault.desk.statistics(by: fixture.admin).map(\.itemBarcode) == ["IT1"])
            #expect(try await vault.desk.patronProfile(card: "D1", purpose: "circulation", by: fixture.admin).openLoans == [])
        }
    }

    @Test("a reader holding keys.db open leaves the shred pending; the next maintenance pass completes it")
    func heldReaderDelaysShred() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "D2"), pin: nil, by: fixture.admin)
            _ = try await vault.desk.checkout(card: "D2", item: "IT2", title: "A Title", author: nil, due: nil, branch: nil, by: fixture.admin)
            let loan = try Self.loanRecord(fixture)

            let reader = try Self.heldReader(fixture)
            defer { try? reader.close() }
            #expect(try reader.inDatabase { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key WHERE record_id = ?", arguments: [loan.id]) } == 1)

            let returned = try await vault.desk.returnItem("IT2", by: fixture.admin)
            #expect(returned.outcome == .destroyedShredPending)
            #expect(try fixture.count("SELECT count(*) FROM record WHERE id = ?", [loan.id], in: Self.records) == 0)
            #expect(try fixture.count("SELECT count(*) FROM pending_shred WHERE record_id = ?", [loan.id], in: Self.records) == 1)

            try reader.inDatabase { db in try db.commit() }
            let pass = await vault.maintenance.runOnce()
            #expect(pass.shredsComplete)
            #expect(try fixture.count("SELECT count(*) FROM pending_shred", in: Self.records) == 0)
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE record_id = ?", [loan.id], in: Self.keys) == 0)
        }
    }

    @Test("the maintenance service finishes a delayed shred on its own, and stops when cancelled")
    func maintenanceServiceFinishesShred() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(VaultFixture.registration(card: "D3"), pin: nil, by: fixture.admin)
            _ = try await vault.desk.checkout(card: "D3", item: "IT3", title: "A Title", author: nil, due: nil, branch: nil, by: fixture.admin)
            let loan = try Self.loanRecord(fixture)

            let reader = try Self.heldReader(fixture)
            defer { try? reader.close() }
            #expect(try await vault.desk.returnItem("IT3", by: fixture.admin).outcome == .destroyedShredPending)

            // No further operation runs: only the service, on its timer, can finish the shred.
            var service = vault.maintenance
            service.interval = .milliseconds(20)
            let running = Task { try await service.run() }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try fixture.count("SELECT count(*) FROM pending_shred WHERE record_id = ?", [loan.id], in: Self.records) == 1)
            try reader.inDatabase { db in try db.commit() }
            var waited = 0
            while try fixture.count("SELECT count(*) FROM pending_shred", in: Self.records) > 0, waited < 250 {
                try await Task.sleep(for: .milliseconds(20))
                waited += 1
            }
            running.cancel()
            try await running.value
            #expect(try fixture.count("SELECT count(*) FROM pending_shred", in: Self.records) == 0)
            #expect(try fixture.count("SELECT count(*) FROM record_key WHERE record_id = ?", [loan.id], in: Self.keys) == 0)
        }
    }
}
