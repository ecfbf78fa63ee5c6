import Foundation
import GRDB
import PatronVaultCore
import PatronVaultCrypto
@testable import PatronVaultPostgres
import Testing

/// What every key store must do, run on each backend: the same calls, the same answers.
@Suite("Key store conformance")
struct KeyStoreConformanceTests {
    static let backends = StorageBackend.available

    @Test("A new patron's keys are read back with their set, count and the records asked for", arguments: backends)
    func newPatronKeys(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            let patron = PatronPseudonym.random()
            let records = (0..<3).map { _ in recordKey(patron: patron, version: 1) }
            try store.insert(.newPatron(PatronKeyRow(patron: patron, kekVersion: 1, wrapped: bytes(40)), records: records))

            let keys = try store.wrappedKeys(patron: patron, records: [(records[0].record, 1), (records[2].record, 1), (records[1].record, 7)])
            #expect(keys.patronKey?.kekVersion == 1)
            #expect(keys.recordKeyCount == 3)
            #expect(Set(keys.recordKeys.keys) == [records[0].record, records[2].record])
            #expect(keys.recordKeys[records[2].record] == records[2].wrapped)
            #expect(keys.recordSet?.matches(RecordSetDigest(elements: records.map(\.element))) == true)

            let stored = try store.recordKeys(patron: patron)
            #expect(stored.keys.count == 3)
            #expect(stored.keys.values.allSatisfy { $0.settled })
            #expect(stored.keys[records[1].owner]?.element == records[1].element)
            #expect(stored.recordSet?.matches(RecordSetDigest(elements: records.map(\.element))) == true)

            let absent = try store.wrappedKeys(patron: .random(), records: [])
            #expect(absent.patronKey == nil && absent.recordKeyCount == 0)
            let none = try store.recordKeys(patron: .random())
            #expect(none.recordSet == nil && none.keys.isEmpty)
            #expect(try store.counts() == (patronKeys: 1, recordKeys: 3))
        }
    }

    @Test("Several patrons' keys are read in one visit, grouped by patron", arguments: backends)
    func manyPatrons(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            var batch = KeyBatch()
            let patrons = (0..<5).map { _ in PatronPseudonym.random() }
            for (index, patron) in patrons.enumerated() {
                batch.add(newPatron: PatronKeyRow(patron: patron, kekVersion: 1, wrapped: bytes(40)), records: (0..<index).map { _ in recordKey(patron: patron, version: 1) })
            }
            try await store.insertConcurrently(batch)
            let all = try store.wrappedKeys(patrons: patrons + [.random()])
            #expect(all.count == 5)
            for (index, patron) in patrons.enumerated() {
                #expect(all[patron]?.recordKeyCount == index)
                #expect(all[patron]?.recordKeys.count == index)
            }
            let owners = try store.owners()
            #expect(owners.patrons == Set(patrons))
            #expect(owners.records.count == 10 && owners.settled.count == 10)
        }
    }

    @Test("Settling adds an element to the set once; a second settle changes nothing", arguments: backends)
    func settling(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            let patron = PatronPseudonym.random()
            let first = recordKey(patron: patron, version: 1)
            try store.insert(.newPatron(PatronKeyRow(patron: patron, kekVersion: 1, wrapped: bytes(40)), records: [first]))
            let next = recordKey(patron: patron, version: 2)
            try store.insert(KeyBatch(recordKeys: [next]))
            #expect(try store.hasUnsettled())
            #expect(try store.unsettled().map(\.owner) == [next.owner])
            #expect(try store.unsettled().first?.element == next.element)
            #expect(try store.recordKeys(patron: patron).recordSet?.matches(RecordSetDigest(elements: [first.element])) == true)

            try await store.settle([next.owner])
            try store.settleNow([next.owner])
            try await store.settle([next.owner, first.owner])
            #expect(try !store.hasUnsettled())
            let stored = try store.recordKeys(patron: patron)
            #expect(stored.recordSet?.matches(RecordSetDigest(elements: [first.element, next.element])) == true)
            #expect(stored.keys[next.owner]?.settled == true)
        }
    }

    @Test("A shred destroys the keys and takes settled elements out of the set", arguments: backends)
    func shredding(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            let patron = PatronPseudonym.random()
            let records = (0..<3).map { _ in recordKey(patron: patron, version: 1) }
            try store.insert(.newPatron(PatronKeyRow(patron: patron, kekVersion: 1, wrapped: bytes(40)), records: records))
            let unsettled = recordKey(patron: patron, version: 2)
            try store.insert(KeyBatch(recordKeys: [unsettled]))

            let done = try await store.shred([records[1], unsettled].map { PendingShred(record: $0.record, patron: patron, version: $0.version, tag: []) })
            #expect(try await finishes(done) { try await store.shred([]) })
            let stored = try store.recordKeys(patron: patron)
            #expect(Set(stored.keys.keys) == [records[0].owner, records[2].owner])
            #expect(stored.recordSet?.matches(RecordSetDigest(elements: [records[0].element, records[2].element])) == true)
            #expect(try await finishes(false) { try await store.shred([]) })
        }
    }

    @Test("A shred met by a reader's older snapshot reports its residue unfinished, and finishes once it ends", arguments: backends)
    func shredWithHeldReader(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, held in
            let patron = PatronPseudonym.random()
            let records = (0..<2).map { _ in recordKey(patron: patron, version: 1) }
            try store.insert(.newPatron(PatronKeyRow(patron: patron, kekVersion: 1, wrapped: bytes(40)), records: records))
            let reader = try SnapshotHolder(held)
            let done = try await store.shred([PendingShred(record: records[0].record, patron: patron, version: 1, tag: [])])
            #expect(!done)
            // The key is gone for every new read even so.
            #expect(try store.recordKeys(patron: patron).keys.count == 1)
            reader.release()
            #expect(try await finishes(false) { try await store.shred([]) })
        }
    }

    @Test("Destroying a patron's keys removes the patron key and every record key", arguments: backends)
    func destroyingPatrons(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            let gone = PatronPseudonym.random()
            let kept = PatronPseudonym.random()
            var batch = KeyBatch()
            batch.add(newPatron: PatronKeyRow(patron: gone, kekVersion: 1, wrapped: bytes(40)), records: [recordKey(patron: gone, version: 1)])
            batch.add(newPatron: PatronKeyRow(patron: kept, kekVersion: 1, wrapped: bytes(40)), records: [recordKey(patron: kept, version: 1)])
            try store.insert(batch)
            try store.insert(KeyBatch(recordKeys: [recordKey(patron: gone, version: 2)]))
            let done = try await store.destroyPatronKeys([gone])
            #expect(try await finishes(done) { try await store.destroyPatronKeys([]) })
            #expect(try store.wrappedKeys(patron: gone, records: []).patronKey == nil)
            #expect(try store.owners().patrons == [kept])
            #expect(try store.counts() == (patronKeys: 1, recordKeys: 1))
        }
    }

    @Test("Deleting a batch removes exactly its keys and seals", arguments: backends)
    func deletingBatches(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            let patron = PatronPseudonym.random()
            let first = recordKey(patron: patron, version: 1)
            let written = KeyBatch(
                patronKeys: [PatronKeyRow(patron: patron, kekVersion: 1, wrapped: bytes(40))], recordKeys: [first, recordKey(patron: patron, version: 1)],
                staffSeals: [("desk-1", bytes(32)), ("desk-2", bytes(32))])
            try store.insert(written)
            try store.delete(KeyBatch(recordKeys: [first], staffSeals: [("desk-1", [])]))
            #expect(try store.counts() == (patronKeys: 1, recordKeys: 1))
            #expect(try Set(store.staffSeals().keys) == ["desk-2"])
            store.remove(written)
            #expect(try store.counts() == (patronKeys: 0, recordKeys: 0))
            #expect(try store.staffSeals().isEmpty)
        }
    }

    @Test("Staff seals are stored, replaced and read one by one", arguments: backends)
    func staffSeals(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            let first = bytes(32)
            try store.insert(KeyBatch(staffSeals: [("admin-1", first)]))
            #expect(try store.staffSeal(id: "admin-1") == first)
            let second = bytes(32)
            try await store.sealStaff(id: "admin-1", tag: second)
            try await store.sealStaff(id: "desk-9", tag: first)
            #expect(try store.staffSeal(id: "admin-1") == second)
            #expect(try store.staffSeals() == ["admin-1": second, "desk-9": first])
            #expect(try store.staffSeal(id: "nobody") == nil)
        }
    }

    @Test("Metadata and system keys are written once and replaced as rotations do", arguments: backends)
    func metadataAndSystemKeys(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            let blind = bytes(48)
            try await store.create(metadata: ["kek-version": [1], "salt": bytes(16)], systemKeys: [(name: "blind-index", kekVersion: 1, wrapped: blind)])
            #expect(try await store.metadata()["kek-version"] == [1])
            #expect(try store.metadataValue("kek-version") == [1])
            #expect(try store.metadataValue("absent") == nil)
            let system = try await store.systemKeys()
            #expect(system.count == 1 && system[0].name == "blind-index" && system[0].wrapped == blind)

            try store.replaceMetadata(setting: ["rotation": [2]], removing: ["salt"])
            #expect(Set(try await store.metadata().keys) == ["kek-version", "rotation"])
            let replaced = bytes(48)
            try store.replaceSystemKey(name: "blind-index", kekVersion: 1, wrapped: replaced, setting: ["retired": [9]])
            #expect(try await store.systemKeys()[0].wrapped == replaced)
            #expect(try store.metadataValue("retired") == [9])
            #expect(throws: VaultError.self) { try store.replaceSystemKey(name: "missing", kekVersion: 1, wrapped: replaced, setting: [:]) }
        }
    }

    @Test("A rotation rewraps patron keys in batches, resumes past its own work, and finishes only when none is left", arguments: backends)
    func rotation(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            try await store.create(metadata: [:], systemKeys: [(name: "blind-index", kekVersion: 1, wrapped: bytes(48))])
            var batch = KeyBatch()
            for _ in 0..<7 { batch.add(newPatron: PatronKeyRow(patron: .random(), kekVersion: 1, wrapped: bytes(40)), records: []) }
            try store.insert(batch)
            let rewrap: (PatronPseudonym, [UInt8]) throws -> [UInt8] = { _, wrapped in wrapped.map { $0 ^ 0xFF } }

            let first = try #require(try store.rewrapPatronKeys(from: 1, to: 2, after: 0, limit: 3, rewrap))
            #expect(first.rewrapped == 3)
            #expect(try store.keyVersions().patronKeys == [1: 4, 2: 3])
            #expect(throws: VaultError.self) { try store.finishRotation(to: 2, systemKeys: [], setting: [:], removing: []) }
            // A resumed rotation starting over passes the keys already done.
            let again = try #require(try store.rewrapPatronKeys(from: 1, to: 2, after: 0, limit: 5, rewrap))
            #expect(again.rewrapped == 2)
            var cursor = again.lastRowID
            while let next = try store.rewrapPatronKeys(from: 1, to: 2, after: cursor, limit: 5, rewrap) { cursor = next.lastRowID }
            #expect(try store.keyVersions().patronKeys == [2: 7])
            try store.finishRotation(to: 2, systemKeys: [(name: "blind-index", wrapped: bytes(48))], setting: ["kek-version": [2]], removing: [])
            let versions = try store.keyVersions()
            #expect(versions.systemKeys == [2: 1])
            #expect(try store.metadataValue("kek-version") == [2])
            let original = batch.patronKeys[0]
            #expect(try store.wrappedKeys(patron: original.patron, records: []).patronKey?.wrapped == original.wrapped.map { $0 ^ 0xFF })
        }
    }

    @Test("A key at an unexpected master-key version stops a rotation batch as an integrity failure", arguments: backends)
    func rotationMeetsEditedVersion(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            try store.insert(KeyBatch(patronKeys: [PatronKeyRow(patron: .random(), kekVersion: 5, wrapped: bytes(40))]))
            #expect(throws: VaultError.integrity) { try store.rewrapPatronKeys(from: 1, to: 2, after: 0, limit: 10) { _, wrapped in wrapped } }
        }
    }

    @Test("The upgrade to record sets settles every key and writes each patron's set", arguments: backends)
    func upgradeToRecordSets(_ backend: StorageBackend) async throws {
        try await backend.withKeyStore { store, _ in
            try await store.create(metadata: ["check": [1]], systemKeys: [])
            let patron = PatronPseudonym.random()
            let key = recordKey(patron: patron, version: 1)
            try store.insert(KeyBatch(patronKeys: [PatronKeyRow(patron: patron, kekVersion: 1, wrapped: bytes(40))], recordKeys: [key]))
            let element = bytes(32)
            try store.upgradeRecordSets(elements: [key.owner: element], staffSeals: [("admin-1", bytes(32))], metadata: ["check": [2]])
            let stored = try store.recordKeys(patron: patron)
            #expect(stored.keys[key.owner]?.element == element && stored.keys[key.owner]?.settled == true)
            #expect(stored.recordSet?.matches(RecordSetDigest(elements: [element])) == true)
            #expect(try store.metadataValue("check") == [2])
            #expect(try store.staffSeal(id: "admin-1") != nil)
        }
    }

    /// Whether a destruction that reported its residue unfinished finishes when retried, as the
    /// maintenance pass retries it: on a shared PostgreSQL cluster a session starting up can hold
    /// a snapshot from before the deletion for a moment.
    private func finishes(_ first: Bool, retry: () async throws -> Bool) async throws -> Bool {
        var done = first
        for _ in 0..<50 where !done {
            try await Task.sleep(for: .milliseconds(100))
            done = try await retry()
        }
        return done
    }

    private func recordKey(patron: PatronPseudonym, version: Int64) -> RecordKeyRow {
        RecordKeyRow(patron: patron, record: .random(), version: version, wrapped: bytes(72), element: bytes(32))
    }

    private func bytes(_ count: Int) -> [UInt8] { SecureRandom.bytes(count) }
}

/// A reader in another connection holding a snapshot taken now, until released.
final class SnapshotHolder: @unchecked Sendable {
    private var sqlite: DatabaseQueue?
    private var postgres: PostgresLink?
    private let released = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(_ held: HeldSnapshot) throws {
        let started = DispatchSemaphore(value: 0)
        switch held {
        case .sqlite(let path):
            let queue = try DatabaseQueue(path: path)
            sqlite = queue
            DispatchQueue.global().async { [released, done] in
                try? queue.read { db in
                    _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM record_key")
                    started.signal()
                    released.wait()
                }
                done.signal()
            }
        case .postgres(let location):
            let link = PostgresLink(location, name: "a reader")
            postgres = link
            DispatchQueue.global().async { [released, done] in
                try? link.withSession { session in
                    try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    try session.query("SELECT count(*) FROM record_key")
                    started.signal()
                    released.wait()
                    try session.execute("COMMIT")
                }
                done.signal()
            }
        }
        started.wait()
    }

    func release() {
        released.signal()
        done.wait()
        try? sqlite?.close()
        postgres?.close()
    }
}
