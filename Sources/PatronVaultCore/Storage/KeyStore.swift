/// Where every wrapped key lives (`keys.db` in the embedded SQLite default), apart from the
/// records, so a backup of records alone can never be opened once a key is destroyed.
///
/// The synchronous calls run inside a record transaction, on the record store's thread; the
/// async ones run on their own.
package protocol KeyStore: Sendable {
    /// Pins the whole key store, as committed, for a new file at `path`; taken while the record
    /// store's write lock is held (see `RecordInventory.backupSnapshot`).
    func backupSnapshot(to path: String) throws -> any BackupSnapshot
    /// The patron's wrapped key and the wrapped keys of the given records, in one read.
    func wrappedKeys(patron: PatronPseudonym, records: [(id: RecordID, version: Int64)]) throws -> WrappedKeys
    /// Every wrapped key of each patron (patrons with none are absent), in one visit to the key
    /// store: a retention batch reads its patrons' keys once instead of once a patron.
    func wrappedKeys(patrons: [PatronPseudonym]) throws -> [PatronPseudonym: WrappedKeys]

    /// A patron's record set and every record key they have, with its element and whether it is
    /// settled, from one snapshot: what a read checks the rows it found against.
    func recordKeys(patron: PatronPseudonym) throws -> StoredRecordKeys

    /// Commits wrapped keys (before the records that need them are written).
    func insert(_ batch: KeyBatch) throws

    /// The same on the key store's own thread, so a caller can write records meanwhile.
    func insertConcurrently(_ batch: KeyBatch) async throws

    /// Removes keys stored for records whose own write then failed.
    func remove(_ batch: KeyBatch)

    /// The same, reporting failure.
    func delete(_ batch: KeyBatch) throws

    /// Marks the keys of records now committed as settled, adding their elements to their
    /// patrons' record sets; a key already settled is left as it is.
    func settle(_ keys: [RecordOwner]) async throws

    /// The same on the calling thread, under the record store's write lock.
    func settleNow(_ keys: [RecordOwner]) throws

    /// Whether any record key is unsettled (cheap: a partial index).
    func hasUnsettled() throws -> Bool

    /// Every unsettled record key and its element.
    func unsettled() throws -> [(owner: RecordOwner, element: [UInt8]?)]

    /// Gives a vault made before record sets its elements, sets and staff seals, and replaces the metadata
    /// that marked it as older, in one transaction.
    func upgradeRecordSets(elements: [RecordOwner: [UInt8]], staffSeals: [(id: String, tag: [UInt8])], metadata: [String: [UInt8]]) throws

    /// One metadata value, read now (the upgrade checks it has not been done meanwhile).
    func metadataValue(_ name: String) throws -> [UInt8]?

    /// Every staff seal by account id, and one account's.
    func staffSeals() throws -> [String: [UInt8]]
    func staffSeal(id: String) throws -> [UInt8]?

    /// One account's seal, read for a token check: every daemon request makes one, so a store
    /// that waits on a server reads it without holding the caller's thread.
    func readStaffSeal(id: String) async throws -> [UInt8]?

    /// Replaces an account's seal after its row changed (a revocation, which commits first).
    func sealStaff(id: String, tag: [UInt8]) async throws

    /// Destroys the keys of removed records, then the residue: no copy of a destroyed key may
    /// stay in a journal. Returns false when a reader kept the residue alive.
    func shred(_ shreds: [PendingShred]) async throws -> Bool

    /// Destroys erased patrons' keys and every record key still stored under them, in one
    /// transaction, then the residue, as `shred` does. Returns false when a reader kept the
    /// residue alive.
    func destroyPatronKeys(_ patrons: [PatronPseudonym]) async throws -> Bool
    /// How many patron and record keys are stored.
    func counts() throws -> (patronKeys: Int, recordKeys: Int)

    /// Whom every stored patron and record key belongs to, and which record keys are settled.
    func owners() throws -> KeyOwners

    /// Key metadata (source, salt, KEK version, check value) by name.
    func metadata() async throws -> [String: [UInt8]]

    /// The system keys (blind-index root, audit keys), wrapped under the master key.
    func systemKeys() async throws -> [(name: String, kekVersion: Int64, wrapped: [UInt8])]

    /// Writes the metadata and wrapped system keys of a new vault.
    func create(metadata: [String: [UInt8]], systemKeys: [(name: String, kekVersion: Int64, wrapped: [UInt8])]) async throws

    /// Writes and removes metadata in one transaction that is on disk when it returns: what a
    /// master key rotation records before its first batch.
    func replaceMetadata(setting values: [String: [UInt8]], removing names: [String]) throws

    /// Rewraps up to `limit` patron keys after `rowID` from master-key version `from` to `to`
    /// in one transaction, skipping keys already at `to`. Nil once no key is left after `rowID`.
    func rewrapPatronKeys(
        from: Int64, to: Int64, after rowID: Int64, limit: Int, _ rewrap: (PatronPseudonym, [UInt8]) throws -> [UInt8]
    ) throws -> (lastRowID: Int64, rewrapped: Int)?

    /// Ends a rotation in one durable transaction: the system keys rewrapped, the metadata of
    /// the new version in place of the old. Refused while any patron key is at another version.
    func finishRotation(to version: Int64, systemKeys: [(name: String, wrapped: [UInt8])], setting values: [String: [UInt8]], removing names: [String]) throws

    /// Replaces one system key and writes metadata in one durable transaction: a signing-key
    /// rotation's new seed beside the retired public keys.
    func replaceSystemKey(name: String, kekVersion: Int64, wrapped: [UInt8], setting values: [String: [UInt8]]) throws

    /// How many keys each master-key version wraps.
    func keyVersions() throws -> KeyVersionCounts

    func checkpoint() async throws
    func close() async throws
}

extension KeyStore {
    package func readStaffSeal(id: String) async throws -> [UInt8]? {
        try staffSeal(id: id)
    }
}
