import Foundation
import GRDB
@testable import PatronVaultPostgres
import Testing
@testable import PatronVaultCore

@Suite("Backups pinned under the write lock")
struct BackupSnapshotTests {
    // No time limit: in the full suite an in-process test can wait minutes for a thread before it
    // runs. A write held up by the pin would hang here, and fail the run.
    @Test(
        "both stores are pinned under the write lock and written after it is released: a write in between is not held up and is in neither copy",
        arguments: FixtureBackend.available)
    func pinnedThenWritten(backend: FixtureBackend) async throws {
        try await VaultFixture.with(backend: backend) { fixture in
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "B1"), pin: nil, by: fixture.admin)
            let folder = VaultFixture.temporaryFolder()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let (recordsPath, keysPath) = (folder.appendingPathComponent("vault.db").path, folder.appendingPathComponent("keys.db").path)
            let keys = fixture.vault.gate.storage.keys
            let snapshots = try await fixture.vault.gate.storage.records.holdingWriteLock { inventory in
                [try inventory.backupSnapshot(to: recordsPath), try keys.backupSnapshot(to: keysPath)]
            }
            // With the lock released, a registration commits (records, keys and its entries)
            // before either snapshot is written out.
            try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "B2"), pin: nil, by: fixture.admin)
            for snapshot in snapshots { try await snapshot.write() }

            let live = try await fixture.vault.oversight.verifyAudit(against: nil, by: fixture.admin)
            #expect(live.isIntact)
            #expect(try Self.count("SELECT count(*) FROM patron", in: recordsPath) == 1, "the copy holds the patron registered before the pin only")
            #expect(try Self.count("SELECT count(*) FROM patron_key", in: keysPath) == 1, "the key copy is of the same moment")
            let copiedEntries = try Self.count("SELECT count(*) FROM audit_entry", in: recordsPath)
            #expect(copiedEntries > 0 && Int64(copiedEntries) < live.entryCount, "the trail as it stood at the pin")
        }
    }

    @Test("a pinned snapshot that is discarded leaves no transaction open on the server")
    func discardedSnapshotLetsGo() async throws {
        guard FixtureBackend.server != nil else { return }
        try await VaultFixture.with(backend: .postgres) { fixture in
            guard case .postgresPair(let configuration, _) = fixture.backend else { throw SnapshotTestFailure() }
            let folder = VaultFixture.temporaryFolder()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let snapshot = try await fixture.vault.gate.storage.records.holdingWriteLock { inventory in
                try inventory.backupSnapshot(to: folder.appendingPathComponent("vault.db").path)
            }
            let observer = PostgresLink(configuration.records, name: "the records database")
            defer { observer.close() }
            let openSnapshots = {
                try observer.withSession { session in
                    try session.query("SELECT count(*)::bigint FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'")[0]
                        .makeRandomAccess().int64(0)
                }
            }
            #expect(try openSnapshots() == 1, "the pinned snapshot is an open transaction")
            snapshot.discard()
            var left = try openSnapshots()
            for _ in 0..<50 where left > 0 {
                try await Task.sleep(for: .milliseconds(100))
                left = try openSnapshots()
            }
            #expect(left == 0)
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("vault.db").path), "nothing was written")
        }
    }

    private static func count(_ sql: String, in path: String) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { try Int.fetchOne($0, sql: sql) } ?? -1
    }
}
