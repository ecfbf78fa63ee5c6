import GRDB
import PatronVaultAudit

/// The plaintext columns are only what lookups and retention need: random ids, the pseudonym,
/// kind, state, day-granular dates and keyed blind indexes. Everything else is sealed.
///
/// The large tables are rowid tables: new rows append at the end of the B-tree and only their
/// small secondary indexes take the random blind-index and pseudonym keys. Clustering them by a
/// random key instead dirtied nearly every page of the table on each bulk transaction. A rowid
/// reveals only the order rows were written in, which the day columns already show.
package enum SQLiteSchema {
    package static var recordsMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE vault_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE patron (
                    pseudonym BLOB NOT NULL UNIQUE,
                    card_index BLOB NOT NULL UNIQUE,
                    email_index BLOB NOT NULL,
                    name_index BLOB NOT NULL,
                    history_keep INTEGER NOT NULL,
                    registration_id BLOB NOT NULL,
                    registered_day INTEGER NOT NULL,
                    expires_day INTEGER
                );
                CREATE INDEX patron_email ON patron(email_index);
                CREATE INDEX patron_name ON patron(name_index);
                CREATE TABLE record (
                    patron BLOB NOT NULL,
                    id BLOB NOT NULL,
                    kind INTEGER NOT NULL,
                    state INTEGER NOT NULL,
                    item_index BLOB,
                    opened_day INTEGER NOT NULL,
                    due_day INTEGER,
                    closed_day INTEGER,
                    sealed BLOB NOT NULL
                );
                CREATE UNIQUE INDEX record_owner ON record(patron, id);
                CREATE UNIQUE INDEX record_open_item ON record(item_index) WHERE item_index IS NOT NULL;
                CREATE TABLE pin_attempt (
                    pseudonym BLOB PRIMARY KEY,
                    failures INTEGER NOT NULL,
                    locked_until INTEGER
                ) WITHOUT ROWID;
                CREATE TABLE staff (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL,
                    token_hash BLOB NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE TABLE circulation_stat (
                    item_barcode TEXT NOT NULL,
                    branch TEXT NOT NULL,
                    month TEXT NOT NULL,
                    returns INTEGER NOT NULL,
                    PRIMARY KEY (item_barcode, branch, month)
                ) WITHOUT ROWID;
                CREATE TABLE pending_shred (record_id BLOB PRIMARY KEY, patron BLOB NOT NULL) WITHOUT ROWID;
                """)
            try AuditTrail.createSchema(db)
        }
        // Record versions: every change reseals a record as the next version under a fresh key,
        // and the old version's key is shredded like a deleted record's. Existing records are
        // version 0 (sealed in format 1).
        migrator.registerMigration("v2-record-versions") { db in
            try db.execute(sql: """
                ALTER TABLE record ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE pending_shred_v2 (
                    record_id BLOB NOT NULL, patron BLOB NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (record_id, version)
                ) WITHOUT ROWID;
                INSERT INTO pending_shred_v2(record_id, patron, version) SELECT record_id, patron, 0 FROM pending_shred;
                DROP TABLE pending_shred;
                ALTER TABLE pending_shred_v2 RENAME TO pending_shred;
                """)
        }
        // Record sets: a queued shred carries a tag only the vault can make (`RecordSetKey`).
        migrator.registerMigration("v3-record-sets") { db in
            try db.execute(sql: "ALTER TABLE pending_shred ADD COLUMN tag BLOB")
        }
        // Audit entries that carry a detail (a retention run's counts) are format 2.
        migrator.registerMigration("v4-audit-detail") { db in
            try AuditTrail.addDetailIfMissing(db)
        }
        // Retention: closed records by patron and return day (the history rule's candidates),
        // the day of a card's last failed PIN, and an unfinished run's progress.
        migrator.registerMigration("v5-retention") { db in
            try db.execute(sql: """
                CREATE INDEX record_closed ON record(patron, closed_day) WHERE state = 1;
                ALTER TABLE pin_attempt ADD COLUMN last_failure_day INTEGER;
                CREATE TABLE retention_progress (
                    position INTEGER PRIMARY KEY,
                    rule TEXT NOT NULL,
                    started_at INTEGER NOT NULL,
                    cutoff_day INTEGER NOT NULL,
                    cursor BLOB,
                    records INTEGER NOT NULL,
                    patrons INTEGER NOT NULL,
                    kept INTEGER NOT NULL,
                    done INTEGER NOT NULL
                );
                """)
        }
        // Fees: a loan returned with a fee is held (state 2) and carries the day the fee was
        // settled, which the held-loans rule counts from.
        migrator.registerMigration("v6-held-loans") { db in
            try db.execute(sql: """
                ALTER TABLE record ADD COLUMN settled_day INTEGER;
                CREATE INDEX record_settled ON record(patron, settled_day) WHERE state = 2;
                """)
        }
        // Staff accounts whose token works only through the daemon (covered by their seal).
        migrator.registerMigration("v7-remote-only-staff") { db in
            try db.execute(sql: "ALTER TABLE staff ADD COLUMN remote_only INTEGER NOT NULL DEFAULT 0")
        }
        // Legal orders: the patron's pseudonym beside the order sealed under a key derived from
        // the blind-index root (reference, scope, window, dates, filer, approver, disclosure).
        migrator.registerMigration("v8-legal-orders") { db in
            try db.execute(sql: """
                CREATE TABLE legal_order (id TEXT PRIMARY KEY, patron BLOB NOT NULL, sealed BLOB NOT NULL) WITHOUT ROWID;
                CREATE INDEX legal_order_patron ON legal_order(patron);
                """)
        }
        return migrator
    }

    package static var keysMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE key_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE system_key (name TEXT PRIMARY KEY, kek_version INTEGER NOT NULL, wrapped BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE patron_key (pseudonym BLOB NOT NULL UNIQUE, kek_version INTEGER NOT NULL, wrapped BLOB NOT NULL);
                CREATE TABLE record_key (pseudonym BLOB NOT NULL, record_id BLOB NOT NULL, wrapped BLOB NOT NULL);
                CREATE UNIQUE INDEX record_key_owner ON record_key(pseudonym, record_id);
                """)
        }
        migrator.registerMigration("v2-record-versions") { db in
            try db.execute(sql: """
                ALTER TABLE record_key ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
                DROP INDEX record_key_owner;
                CREATE UNIQUE INDEX record_key_owner ON record_key(pseudonym, record_id, version);
                """)
        }
        // Record sets: each record key carries its record's element and whether it is settled
        // (in the set); each patron key carries the set. A vault made before this is upgraded
        // once, when its sealed check value says so (`KeyRing.predatesRecordSets`).
        migrator.registerMigration("v3-record-sets") { db in
            try db.execute(sql: """
                ALTER TABLE record_key ADD COLUMN element BLOB;
                ALTER TABLE record_key ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE patron_key ADD COLUMN record_set BLOB;
                CREATE INDEX record_key_unsettled ON record_key(pseudonym) WHERE settled = 0;
                """)
        }
        // Staff seals: what each staff row grants, tagged where an edit of `vault.db` cannot reach.
        migrator.registerMigration("v4-staff-seals") { db in
            try db.execute(sql: "CREATE TABLE staff_seal (id TEXT PRIMARY KEY, tag BLOB NOT NULL) WITHOUT ROWID")
        }
        return migrator
    }
}
