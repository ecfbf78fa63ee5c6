import Foundation
import PatronVaultCrypto
import Synchronization

/// A vault's two stores and the one rule that keeps them consistent without a transaction across
/// both: keys are committed before the records that need them, and records are removed (with a
/// queued shred in the same transaction) before their keys. A transaction that does not commit
/// takes its keys back out (`WrittenKeys`); only a crash between the key commit and the record
/// commit can leave a wrapped key without a record, which opens nothing. Never a record
/// without its key.
package struct VaultStorage: Sendable {
    let records: any RecordStore
    package let keys: any KeyStore

    package init(records: any RecordStore, keys: any KeyStore) {
        self.records = records
        self.keys = keys
    }

    /// Commits keys before the record change that needs them, noting them so they are removed
    /// if that change does not commit (the gate discards them whenever its transaction fails or
    /// ends in a refusal or another outcome).
    func storeKeys(_ batch: KeyBatch, noting written: WrittenKeys) throws {
        try keys.insert(batch)
        written.add(batch)
    }

    /// A record transaction whose keys (a bulk import's) are committed to the key store by
    /// `storeKeys` concurrently with the record writes; the records commit only after it is done.
    /// `storeKeys` notes each batch in `written` before inserting it, so everything it stored is
    /// removed if the records do not commit.
    func write<T: Sendable>(
        _ pass: GatePass, noting written: WrittenKeys, storingKeys storeKeys: @escaping @Sendable (KeyStoreWriter) async throws -> Void,
        _ body: @escaping @Sendable (any RecordTransaction) throws -> T
    ) async throws -> T {
        let writer = KeyStoreWriter(store: keys, written: written)
        return try await records.write(pass, committingAfter: { try await storeKeys(writer) }, body)
    }

    /// Destroys the keys of records already removed, then their residue, then forgets the queue
    /// entries. Returns whether every queued shred is complete, residue included; a shred that
    /// cannot finish now stays queued for the next pass.
    ///
    /// Only shreds the vault queued are carried out: an entry without a valid tag (an edit that
    /// tries to have a live record's key destroyed) stays in the queue, untouched, and the
    /// patron's reads fail their record-set check.
    @discardableResult
    func finishShreds(checking key: RecordSetKey) async throws -> Bool {
        let queued = try await records.pendingShreds()
        guard !queued.isEmpty else { return true }
        let pending = queued.filter(key.isAuthentic)
        guard !pending.isEmpty else { return false }
        guard try await keys.shred(pending) else { return false }
        try await records.clearShreds(pending)
        return true
    }

    /// Finishes shreds a transaction has just queued and committed, without reading the queue
    /// back or checking their tags again (the vault made them a moment ago), then whatever else
    /// is queued. Returns whether every queued shred is complete.
    @discardableResult
    func finishShreds(_ queued: [PendingShred], checking key: RecordSetKey) async throws -> Bool {
        if !queued.isEmpty {
            guard try await keys.shred(queued) else { return false }
            try await records.clearShreds(queued)
        }
        return try await finishShreds(checking: key)
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
            // A settled key of a patron who still has a row (or records) belongs to a committed
            // record: its row's absence is an edit, which that patron's reads report, never a
            // crash to clean.
            let orphanPatrons = keyed.patrons.subtracting(owners.patrons)
            var orphans = KeyBatch()
            orphans.patronKeys = orphanPatrons.map { PatronKeyRow(patron: $0, kekVersion: 0, wrapped: []) }
            orphans.recordKeys = keyed.records.subtracting(owners.records)
                .filter { !keyed.settled.contains($0) || !owners.patrons.contains($0.patron) }
                .map { RecordKeyRow(patron: $0.patron, record: $0.record, version: $0.version, wrapped: [], element: []) }
            guard !orphans.isEmpty else { return 0 }
            try keys.delete(orphans)
            return orphans.patronKeys.count + orphans.recordKeys.count
        }
        if removed > 0 { _ = try await keys.shred([]) }
        return removed
    }

    /// Settles what a writer killed between its record commit and its settle left unsettled,
    /// and removes unsettled keys whose records never committed. Under the record store's write
    /// lock, so no writer is between its two commits. A key is settled only if its row is there
    /// at that version with the element the key carries.
    @discardableResult
    func settleLeftovers(checking key: RecordSetKey) async throws -> Int {
        guard try keys.hasUnsettled() else { return 0 }
        let keys = keys
        return try await records.holdingWriteLock { inventory -> Int in
            var settle: [RecordOwner] = []
            var remove = KeyBatch()
            for (owner, element) in try keys.unsettled() {
                if let row = try inventory.record(id: owner.record, patron: owner.patron), row.version == owner.version {
                    if let element, ConstantTime.equals(element, key.element(of: row, patron: owner.patron)) { settle.append(owner) }
                } else {
                    remove.recordKeys.append(RecordKeyRow(patron: owner.patron, record: owner.record, version: owner.version, wrapped: [], element: []))
                }
            }
            try keys.settleNow(settle)
            try keys.delete(remove)
            return settle.count + remove.recordKeys.count
        }
    }

    /// Seals revocations whose seal did not follow their commit (a process killed between the
    /// two, or a failed seal): a revoked row still carrying its active seal is sealed as revoked,
    /// so clearing `revoked_at` later cannot bring the account back. It only ever takes access
    /// away. Returns how many were sealed.
    @discardableResult
    func sealRevocations(with key: StaffSealKey) async throws -> Int {
        let keys = keys
        let unsealed = try await records.holdingWriteLock { inventory -> [(id: String, tag: [UInt8])] in
            let seals = try keys.staffSeals()
            return try inventory.allStaff().compactMap { row in
                guard !row.account.isActive, let seal = seals[row.account.id],
                      ConstantTime.equals(seal, key.tag(of: row.account, tokenHash: row.tokenHash, revoked: false))
                else { return nil }
                return (row.account.id, key.tag(of: row.account, tokenHash: row.tokenHash, revoked: true))
            }
        }
        for staff in unsealed { try await keys.sealStaff(id: staff.id, tag: staff.tag) }
        return unsealed.count
    }

    /// Gives a vault made before record sets its elements, sets, shred tags and staff seals, once. The rows
    /// as they are now are taken as the truth: an edit made before the upgrade is not detected.
    /// Each step runs under the write lock and only while the key store still holds the old
    /// check value, so a second process opening the same vault does not upgrade it again.
    func upgradeRecordSets(ring: KeyRing) async throws {
        guard let oldCheck = ring.checkBeforeRecordSets else { return }
        let keys = keys
        let key = ring.recordSet
        let stillOld: @Sendable () throws -> Bool = { try keys.metadataValue(KeyRing.kekCheckName).map { ConstantTime.equals($0, oldCheck) } ?? false }
        try await records.holdingWriteLock { inventory in
            guard try stillOld() else { return }
            try inventory.tagUntaggedShreds { key.shredTag(patron: $0.patron, id: $0.record, version: $0.version) }
        }
        try await records.holdingWriteLock { inventory in
            guard try stillOld() else { return }
            var elements: [RecordOwner: [UInt8]] = [:]
            for version in try inventory.recordVersions() {
                elements[version.owner] = key.element(
                    patron: version.owner.patron, id: version.owner.record, version: version.owner.version, kind: version.kind, state: version.state)
            }
            let seals = try inventory.allStaff().map { row in
                (id: row.account.id, tag: ring.staffSeal.tag(of: row.account, tokenHash: row.tokenHash, revoked: !row.account.isActive))
            }
            try keys.upgradeRecordSets(elements: elements, staffSeals: seals, metadata: ring.metadataWithRecordSets())
        }
    }

    package func close() async {
        try? await records.close()
        try? await keys.close()
    }
}

/// What a bulk write's key-storing side may do: commit batches of keys, each noted first so the
/// gate removes it if the records do not commit.
struct KeyStoreWriter: Sendable {
    let store: any KeyStore
    let written: WrittenKeys

    func insert(_ batch: KeyBatch) async throws {
        written.add(batch)
        try await store.insertConcurrently(batch)
    }
}

/// Keys one transaction wrote to the key store, which commits first: if the record transaction
/// then rolls back (a later failure, a refused audit append, a failed commit), they are removed.
final class WrittenKeys: Sendable {
    private let batches = Mutex<[KeyBatch]>([])

    func add(_ batch: KeyBatch) {
        batches.withLock { $0.append(batch) }
    }

    /// The keys noted that wait to be settled once their records have committed.
    func unsettled() -> [RecordOwner] {
        batches.withLock { $0.flatMap { $0.recordKeys.filter { !$0.settled }.map(\.owner) } }
    }

    /// Removes every noted batch from the key store.
    func discard(from store: any KeyStore) {
        for batch in batches.withLock({ $0 }) { store.remove(batch) }
        batches.withLock { $0.removeAll() }
    }
}
