import PatronVaultCrypto

/// The unwrapped keys of one operation: at most one patron key and one record key, in guarded
/// memory taken from the pool and wiped when the operation ends. Sealing, opening and resealing
/// are its methods, and each checks which patron and record are loaded: nothing uses "whatever
/// key is in the slot".
final class OperationKeys {
    private let ring: KeyRing
    private let pool: KeySlotPool
    private let slots: KeySlotPair
    private(set) var patron: PatronPseudonym?
    private var record: RecordID?

    init(ring: KeyRing, pool: KeySlotPool) throws(VaultError) {
        self.ring = ring
        self.pool = pool
        slots = try pool.take()
    }

    deinit {
        pool.give(slots)
    }

    /// Unwraps a stored patron key. A missing or altered key is an integrity failure, never a
    /// silent empty answer.
    func load(patron: PatronPseudonym, wrapped: (kekVersion: Int64, wrapped: [UInt8])?) throws(VaultError) {
        forget()
        guard let wrapped else { throw .integrity }
        do {
            try ring.kek.unwrap(
                wrapped.wrapped, authenticating: RecordAssociatedData.patronKey(patron: patron, kekVersion: wrapped.kekVersion), into: slots.patron)
        } catch {
            throw .integrity
        }
        self.patron = patron
    }

    /// A new random patron key, loaded, and its wrapped form for the key store.
    func newPatronKey(_ patron: PatronPseudonym) -> PatronKeyRow {
        forget()
        slots.patron.randomize()
        self.patron = patron
        let wrapped = ring.kek.wrap(slots.patron, authenticating: RecordAssociatedData.patronKey(patron: patron, kekVersion: ring.kekVersion))
        return PatronKeyRow(patron: patron, kekVersion: ring.kekVersion, wrapped: wrapped)
    }

    /// Seals a record of the loaded patron, as `version`, under a fresh random record key,
    /// returning the box and the key-store row: the record key wrapped by the patron key, with
    /// the record's element for the patron's record set.
    func sealNew(
        _ plaintext: [UInt8], kind: RecordKind, id: RecordID, state: RecordState = .open, version: Int64 = 1
    ) throws(VaultError) -> (sealed: [UInt8], key: RecordKeyRow) {
        let patron = try loadedPatron()
        slots.record.randomize()
        record = id
        let wrappedKey = slots.patron.wrap(slots.record, authenticating: RecordAssociatedData.recordKey(id: id, patron: patron, version: version))
        let sealed = XChaCha20Poly1305.seal(
            plaintext, using: slots.record, authenticating: RecordAssociatedData.bytes(kind: kind, id: id, patron: patron, state: state, version: version))
        let element = ring.recordSet.element(patron: patron, id: id, version: version, kind: kind, state: state)
        return (sealed, RecordKeyRow(patron: patron, record: id, version: version, wrapped: wrappedKey, element: element))
    }

    /// Opens a record of the loaded patron. Any mismatch (altered bytes, a box moved to another
    /// row or patron, a missing key) is an integrity failure.
    func open(_ sealed: SealedRecord, wrappedKey: [UInt8]?) throws(VaultError) -> [UInt8] {
        let patron = try loadedPatron()
        record = nil
        guard let wrappedKey else { throw .integrity }
        do {
            try slots.patron.unwrap(
                wrappedKey, authenticating: RecordAssociatedData.recordKey(id: sealed.id, patron: patron, version: sealed.version), into: slots.record)
            let plaintext = try XChaCha20Poly1305.open(
                sealed.sealed, using: slots.record,
                authenticating: RecordAssociatedData.bytes(kind: sealed.kind, id: sealed.id, patron: patron, state: sealed.state, version: sealed.version))
            record = sealed.id
            return plaintext
        } catch {
            throw .integrity
        }
    }

    /// Opens records of one patron: one read of the key store, then one unwrap and one open each.
    func open(_ sealed: [SealedRecord], of patron: PatronPseudonym, from store: any KeyStore) throws -> [[UInt8]] {
        try open(sealed, of: patron, wrapped: store.wrappedKeys(patron: patron, records: sealed.map { ($0.id, $0.version) }))
    }

    /// Opens records of one patron with keys already read.
    func open(_ sealed: [SealedRecord], of patron: PatronPseudonym, wrapped: WrappedKeys) throws -> [[UInt8]] {
        try load(patron: patron, wrapped: wrapped.patronKey)
        return try sealed.map { record throws(VaultError) in try open(record, wrappedKey: wrapped.recordKeys[record.id]) }
    }

    /// Seals the record opened last as its next version, in `state`, under a fresh key; refuses
    /// any other record. The old version's key is then destroyed, so no earlier copy of the row
    /// opens again.
    func resealFresh(_ plaintext: [UInt8], replacing old: SealedRecord, state: RecordState) throws(VaultError) -> (sealed: [UInt8], key: RecordKeyRow) {
        guard record == old.id else { throw VaultError(.storageFailure, "a record was resealed without being opened first") }
        return try sealNew(plaintext, kind: old.kind, id: old.id, state: state, version: old.version + 1)
    }

    private func loadedPatron() throws(VaultError) -> PatronPseudonym {
        guard let patron else { throw VaultError(.storageFailure, "a record was sealed without its patron's key") }
        return patron
    }

    private func forget() {
        patron = nil
        record = nil
        slots.patron.wipe()
        slots.record.wipe()
    }
}
