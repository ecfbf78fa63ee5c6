import Foundation
import Synchronization

/// A vault's two stores and the one rule that keeps them consistent without a transaction across
/// both: keys are committed before the records that need them, and records are removed (with a
/// queued shred in the same transaction) before their keys. A transaction that does not commit
/// takes its keys back out (`WrittenKeys`); only a crash between the key commit and the record
/// commit can leave a wrapped key without a record, which opens nothing. Never a record
/// without its key.
struct VaultStorage: Sendable {
    let records: any RecordStore
    let keys: any KeyStore

    /// Commits keys before the record change that needs them, noting them so they are removed
    /// if that change does not commit (the gate discards them whenever its transaction fails or
    /// ends in a refusal or another outcome).
    func storeKeys(_ batch: KeyBatch, noting written: WrittenKeys) throws {
        try keys.insert(batch)
        written.add(batch)
    }

    /// A record transaction whose keys, known before it starts (a bulk import), are committed to
    /// the key store concurrently with the record writes; the records commit only after them.
    /// The caller notes the batch in `written`, so it is removed if the records do not commit.
    func write<T: Sendable>(
        _ pass: GatePass, storingFirst batch: KeyBatch, _ body: @escaping @Sendable (any RecordTransaction) throws -> T
    ) async throws -> T {
        let keys = keys
        return try await records.write(pass, committingAfter: { try await keys.insertConcurrently(batch) }, body)
    }

    /// Destroys the keys of records already removed, then their residue, then forgets the queue
    /// entries. Returns whether every queued shred is complete, residue included; a shred that
    /// cannot finish now stays queued for the next pass.
    @discardableResult
    func finishShreds() async throws -> Bool {
        let pending = try await records.pendingShreds()
        guard !pending.isEmpty else { return true }
        guard try await keys.shred(pending) else { return false }
        try await records.clearShreds(pending)
        return true
    }

    /// Removes keys that belong to no record or patron: left when a process was killed after its
    /// keys committed and before its records did. Counting first keeps the usual pass cheap; the
    /// comparison runs under the record store's write lock, so a live writer's keys, stored a
    /// moment before its records, are never taken for orphans. Returns how many were removed.
    @discardableResult
    func sweepOrphanKeys() async throws -> Int {
        let keys = keys
        let removed = try await records.holdingWriteLock { inventory -> Int in
            let stored = try keys.counts()
            let expected = try inventory.counts()
            guard stored.patronKeys > expected.patrons || stored.recordKeys > expected.records + expected.pendingShreds else { return 0 }
            let owners = try inventory.owners()
            let keyed = try keys.owners()
            var orphans = KeyBatch()
            orphans.patronKeys = keyed.patrons.subtracting(owners.patrons).map { ($0, 0, []) }
            orphans.recordKeys = keyed.records.subtracting(owners.records).map { ($0.patron, $0.record, $0.version, []) }
            guard !orphans.isEmpty else { return 0 }
            try keys.delete(orphans)
            return orphans.patronKeys.count + orphans.recordKeys.count
        }
        if removed > 0 { _ = try await keys.shred([]) }
        return removed
    }

    func close() async {
        try? await records.close()
        try? await keys.close()
    }
}

/// Keys one transaction wrote to the key store, which commits first: if the record transaction
/// then rolls back (a later failure, a refused audit append, a failed commit), they are removed.
final class WrittenKeys: Sendable {
    private let batches = Mutex<[KeyBatch]>([])

    func add(_ batch: KeyBatch) {
        batches.withLock { $0.append(batch) }
    }

    /// Removes every noted batch from the key store.
    func discard(from store: any KeyStore) {
        for batch in batches.withLock({ $0 }) { store.remove(batch) }
        batches.withLock { $0.removeAll() }
    }
}
