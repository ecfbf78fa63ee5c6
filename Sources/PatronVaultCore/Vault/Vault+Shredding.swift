import Foundation
import GRDB

extension Vault {
    /// Deletes the keys of records already removed from `vault.db`, then truncates the key
    /// store's WAL so no copy of a shredded key survives there (`secure_delete` has already
    /// zeroed it in the main file). Runs after every destroying operation and on every open, so
    /// a crash between the two files only delays a shred, never loses it.
    ///
    /// Returns whether every queued shred is complete, WAL included.
    @discardableResult
    func finishPendingShreds() throws(VaultError) -> Bool {
        try run {
            let pending = try VaultStorage.read(storage.records) { db in
                try Row.fetchAll(db.cachedStatement(sql: "SELECT record_id, patron FROM pending_shred"))
            }
            guard !pending.isEmpty else { return true }
            try storage.keys.write { kdb in
                let recordKey = try kdb.cachedStatement(sql: "DELETE FROM record_key WHERE pseudonym = ? AND record_id = ?")
                for row in pending {
                    try recordKey.execute(arguments: [row["patron"] as Data, row["record_id"] as Data])
                }
            }
            let truncated = try storage.keys.writeWithoutTransaction { kdb in
                try Row.fetchOne(kdb.cachedStatement(sql: "PRAGMA wal_checkpoint(TRUNCATE)")).map { ($0[0] as Int) == 0 } ?? false
            }
            // A reader kept the WAL alive: leave the shreds pending so the next run truncates it.
            guard truncated else { return false }
            try storage.records.write { db in
                let done = try db.cachedStatement(sql: "DELETE FROM pending_shred WHERE record_id = ?")
                for row in pending {
                    try done.execute(arguments: [row["record_id"] as Data])
                }
            }
            return true
        }
    }
}
