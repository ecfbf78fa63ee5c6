import Foundation
import GRDB
import PatronVaultCrypto

/// The plaintext columns of a patron row: what lookups and retention need, nothing more.
struct PatronRow {
    let pseudonym: PatronPseudonym
    let registrationID: RecordID
    let historyKeep: Bool

    init(_ row: Row) {
        pseudonym = PatronPseudonym(bytes: Array(row["pseudonym"] as Data))
        registrationID = RecordID(bytes: Array(row["registration_id"] as Data))
        historyKeep = row["history_keep"] as Bool
    }

    static let columns = "pseudonym, registration_id, history_keep"
}

/// A sealed record as stored: its plaintext columns and the box.
struct SealedRecord {
    let id: RecordID
    let kind: RecordKind
    let sealed: [UInt8]

    init(_ row: Row) {
        id = RecordID(bytes: Array(row["id"] as Data))
        kind = RecordKind(rawValue: row["kind"]) ?? .loan
        sealed = Array(row["sealed"] as Data)
    }
}

/// Sealing and opening through the key slots. These run only inside a `storage.records`
/// closure, which serialises every use of the slots.
extension Vault {
    /// Unwraps a patron's key into the patron slot and fetches the wrapped keys of the given
    /// records, in one read of `keys.db`. A missing or altered patron key is an integrity
    /// failure, never a silent empty answer.
    func unlock(_ patron: PatronPseudonym, records ids: [RecordID] = []) throws -> [RecordID: [UInt8]] {
        let owner = Data(patron.bytes)
        let (row, recordKeys) = try VaultStorage.read(storage.keys) { kdb in
            let row = try Row.fetchOne(kdb.cachedStatement(sql: "SELECT kek_version, wrapped FROM patron_key WHERE pseudonym = ?"), arguments: [owner])
            var found: [RecordID: [UInt8]] = [:]
            let statement = try kdb.cachedStatement(sql: "SELECT wrapped FROM record_key WHERE pseudonym = ? AND record_id = ?")
            for id in ids {
                if let wrapped = try Data.fetchOne(statement, arguments: [owner, Data(id.bytes)]) {
                    found[id] = Array(wrapped)
                }
            }
            return (row, found)
        }
        guard let row else { throw VaultError.integrity }
        let version: Int64 = row["kek_version"]
        let wrapped: Data = row["wrapped"]
        do {
            try keyRing.kek.unwrap(Array(wrapped), authenticating: RecordAssociatedData.patronKey(patron: patron, kekVersion: version), into: slots.patron)
        } catch {
            throw VaultError.integrity
        }
        return recordKeys
    }

    /// A new random patron key in the patron slot, and its wrapped form for `keys.db`.
    func newPatronKey(_ patron: PatronPseudonym) -> [UInt8] {
        slots.patron.randomize()
        return keyRing.kek.wrap(slots.patron, authenticating: RecordAssociatedData.patronKey(patron: patron, kekVersion: keyRing.kekVersion))
    }

    /// Seals a new record under a fresh random record key, wrapped by the loaded patron key.
    func sealNew(_ plaintext: [UInt8], kind: RecordKind, id: RecordID, patron: PatronPseudonym) -> (sealed: [UInt8], wrappedKey: [UInt8]) {
        slots.record.randomize()
        let wrappedKey = slots.patron.wrap(slots.record, authenticating: RecordAssociatedData.recordKey(id: id, patron: patron))
        let sealed = XChaCha20Poly1305.seal(plaintext, using: slots.record, authenticating: RecordAssociatedData.bytes(kind: kind, id: id, patron: patron))
        return (sealed, wrappedKey)
    }

    /// Reseals a record under the record key already in the slot (after `open`), with a fresh nonce.
    func reseal(_ plaintext: [UInt8], kind: RecordKind, id: RecordID, patron: PatronPseudonym) -> [UInt8] {
        XChaCha20Poly1305.seal(plaintext, using: slots.record, authenticating: RecordAssociatedData.bytes(kind: kind, id: id, patron: patron))
    }

    /// Opens a record with its wrapped key and the loaded patron key. Any mismatch (altered
    /// bytes, a box moved to another row or patron, a missing key) is an integrity failure.
    func open(_ record: SealedRecord, wrappedKey: [UInt8]?, patron: PatronPseudonym) throws -> [UInt8] {
        guard let wrappedKey else { throw VaultError.integrity }
        do {
            try slots.patron.unwrap(wrappedKey, authenticating: RecordAssociatedData.recordKey(id: record.id, patron: patron), into: slots.record)
            return try XChaCha20Poly1305.open(
                record.sealed, using: slots.record, authenticating: RecordAssociatedData.bytes(kind: record.kind, id: record.id, patron: patron))
        } catch {
            throw VaultError.integrity
        }
    }

    /// Opens records of one patron: one read of `keys.db`, then one unwrap and one open each.
    func openRecords(_ records: [SealedRecord], of patron: PatronPseudonym) throws -> [[UInt8]] {
        let keys = try unlock(patron, records: records.map(\.id))
        return try records.map { try open($0, wrappedKey: keys[$0.id], patron: patron) }
    }

    func patronRow(cardIndex: [UInt8], in db: Database) throws -> PatronRow? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(PatronRow.columns) FROM patron WHERE card_index = ?"), arguments: [Data(cardIndex)]
        ).map(PatronRow.init)
    }

    func patronRow(pseudonym: PatronPseudonym, in db: Database) throws -> PatronRow? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(PatronRow.columns) FROM patron WHERE pseudonym = ?"), arguments: [Data(pseudonym.bytes)]
        ).map(PatronRow.init)
    }

    func patronRow(card: String, in db: Database) throws -> PatronRow {
        guard let row = try patronRow(cardIndex: keyRing.card.index(of: card), in: db) else {
            throw VaultError.notFound("no patron is registered with that card barcode")
        }
        return row
    }

    func sealedRecords(patron: PatronPseudonym, kind: RecordKind, state: RecordState, in db: Database) throws -> [SealedRecord] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, kind, sealed FROM record WHERE patron = ? AND kind = ? AND state = ?"),
            arguments: [Data(patron.bytes), kind.rawValue, state.rawValue]
        ).map(SealedRecord.init)
    }

    func sealedRecord(id: RecordID, patron: PatronPseudonym, in db: Database) throws -> SealedRecord {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, kind, sealed FROM record WHERE patron = ? AND id = ?"), arguments: [Data(patron.bytes), Data(id.bytes)])
        else {
            throw VaultError(.corruptVault, "a patron's registration record is missing from the vault")
        }
        return SealedRecord(row)
    }

    /// Reads and opens a patron's registration, leaving the patron and record keys in the slots.
    func registration(of patron: PatronRow, in db: Database) throws -> PatronRegistration {
        let record = try sealedRecord(id: patron.registrationID, patron: patron.pseudonym, in: db)
        guard record.kind == .registration else { throw VaultError.integrity }
        return try PatronRegistration(decoding: openRecords([record], of: patron.pseudonym)[0])
    }

    /// Writes wrapped keys before the records that need them; if the records then fail, the
    /// caller removes the keys again so nothing is left half-written.
    func storeKeys(patronKey: (PatronPseudonym, [UInt8])?, recordKeys: [(RecordID, PatronPseudonym, [UInt8])]) throws {
        try storage.keys.write { kdb in
            if let (patron, wrapped) = patronKey {
                try kdb.execute(
                    sql: "INSERT INTO patron_key(pseudonym, kek_version, wrapped) VALUES (?, ?, ?)",
                    arguments: [Data(patron.bytes), keyRing.kekVersion, Data(wrapped)])
            }
            let statement = try kdb.cachedStatement(sql: "INSERT INTO record_key(pseudonym, record_id, wrapped) VALUES (?, ?, ?)")
            for (id, patron, wrapped) in recordKeys {
                try statement.execute(arguments: [Data(patron.bytes), Data(id.bytes), Data(wrapped)])
            }
        }
    }

    /// Removes keys stored for records whose own write then failed.
    func discardKeys(patron: PatronPseudonym, includingPatronKey: Bool, records: [RecordID]) {
        try? storage.keys.write { kdb in
            let owner = Data(patron.bytes)
            if includingPatronKey { try kdb.execute(sql: "DELETE FROM patron_key WHERE pseudonym = ?", arguments: [owner]) }
            for id in records { try kdb.execute(sql: "DELETE FROM record_key WHERE pseudonym = ? AND record_id = ?", arguments: [owner, Data(id.bytes)]) }
        }
    }
}

/// Whether a record is live (a registration, an open loan) or closed history.
enum RecordState: Int64 {
    case open = 0
    case closed = 1

    var name: String { self == .open ? "open" : "closed" }
}
