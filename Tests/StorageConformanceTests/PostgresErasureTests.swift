import Foundation
import PatronVaultCore
import PatronVaultCrypto
@testable import PatronVaultPostgres
import PostgresNIO
import Testing

/// Erasure on PostgreSQL, checked where an attacker with the server's disk would look: the key
/// database's files under the cluster's data directory, after the store's VACUUM and a CHECKPOINT
/// has written every page out.
@Suite(
    "PostgreSQL erasure reaches the data files",
    .enabled(if: PostgresTestServer.location != nil && PostgresTestCluster.dataDirectory != nil))
struct PostgresErasureTests {
    @Test("An erased patron's wrapped keys are in no file of the key database once the store has compacted it")
    func erasureLeavesNoKeyBytes() async throws {
        try await withKeyDatabase { store, files in
            let patron = PatronPseudonym.random()
            let patronKey = SecureRandom.bytes(40)
            let recordKeys = (0..<3).map { _ in RecordKeyRow(patron: patron, record: .random(), version: 1, wrapped: SecureRandom.bytes(72), element: SecureRandom.bytes(32)) }
            var batch = KeyBatch()
            batch.add(newPatron: PatronKeyRow(patron: patron, kekVersion: 1, wrapped: patronKey), records: recordKeys)
            // Neighbours on the same pages, so the erased rows are not simply the only ones.
            for _ in 0..<200 {
                let other = PatronPseudonym.random()
                batch.add(newPatron: PatronKeyRow(patron: other, kekVersion: 1, wrapped: SecureRandom.bytes(40)), records: [
                    RecordKeyRow(patron: other, record: .random(), version: 1, wrapped: SecureRandom.bytes(72), element: SecureRandom.bytes(32)),
                ])
            }
            try store.insert(batch)
            try files.checkpoint()
            // The scan finds what is there: the keys are on disk before the erasure.
            #expect(try files.tablesContain(patronKey))
            #expect(try files.tablesContain(recordKeys[2].wrapped))

            // A session starting up elsewhere on the cluster can hold a snapshot from before the
            // deletion for a moment; the store then reports the compaction unfinished, and a later
            // pass (here, at once) compacts again.
            var done = try await store.destroyPatronKeys([patron])
            for _ in 0..<50 where !done {
                try await Task.sleep(for: .milliseconds(100))
                done = try await store.compact()
            }
            #expect(done)
            try files.checkpoint()
            #expect(try !files.tablesContain(patronKey))
            for key in recordKeys { #expect(try !files.tablesContain(key.wrapped)) }
        }
    }

    @Test("A shredded record key's bytes, left in freed page space by VACUUM, are gone once the store compacts")
    func shredThenCompaction() async throws {
        try await withKeyDatabase { store, files in
            let patron = PatronPseudonym.random()
            var keys: [RecordKeyRow] = []
            for _ in 0..<100 {
                keys.append(RecordKeyRow(patron: patron, record: .random(), version: 1, wrapped: SecureRandom.bytes(72), element: SecureRandom.bytes(32)))
            }
            try store.insert(.newPatron(PatronKeyRow(patron: patron, kekVersion: 1, wrapped: SecureRandom.bytes(40)), records: keys))
            // The last row inserted sits nearest the page's free space, where VACUUM does not write.
            let shredded = keys.last!
            // False when a snapshot anywhere on the cluster (other tests run beside this one) was
            // older than the deletion; the compaction below is retried until none is.
            _ = try await store.shred([PendingShred(record: shredded.record, patron: patron, version: 1, tag: [])])
            #expect(try store.recordKeys(patron: patron).keys[shredded.owner] == nil)
            var done = try await store.compact()
            for _ in 0..<50 where !done {
                try await Task.sleep(for: .milliseconds(100))
                done = try await store.compact()
            }
            #expect(done)
            try files.checkpoint()
            #expect(try !files.tablesContain(shredded.wrapped))
            #expect(try files.tablesContain(keys[0].wrapped))
        }
    }

    private func withKeyDatabase(_ body: (PostgresKeyStore, DataFiles) async throws -> Void) async throws {
        let server = try #require(PostgresTestServer.location)
        let name = "pv_erase_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased())"
        try PostgresDatabases.create(name, on: server)
        defer { try? PostgresDatabases.drop(name, on: server) }
        let location = server.with(database: name)
        let store = try PostgresKeyStore.open(location, create: true, vaultID: [1])
        let files = try DataFiles(location: location)
        defer { files.close() }
        do {
            try await body(store, files)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }
}

/// The test cluster's data directory, as someone holding the server's disk reads it.
final class DataFiles {
    let root: URL
    let databaseFolder: URL
    private let link: PostgresLink

    init(location: PostgresLocation) throws {
        root = try #require(PostgresTestCluster.dataDirectory)
        link = PostgresLink(location, name: "the key database")
        let oid = try link.withSession { session in
            try session.query("SELECT oid::bigint FROM pg_database WHERE datname = current_database()")[0].makeRandomAccess().int64(0)
        }
        databaseFolder = root.appendingPathComponent("base/\(oid)")
    }

    /// Writes every dirty page to the data files.
    func checkpoint() throws {
        try link.withSession { session in _ = try session.execute("CHECKPOINT") }
    }

    func tablesContain(_ bytes: [UInt8]) throws -> Bool {
        try contains(bytes, under: databaseFolder)
    }

    func close() { link.close() }

    private func contains(_ bytes: [UInt8], under folder: URL) throws -> Bool {
        let needle = Data(bytes)
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        for file in files where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            if let data = try? Data(contentsOf: file), data.range(of: needle) != nil { return true }
        }
        return false
    }
}
