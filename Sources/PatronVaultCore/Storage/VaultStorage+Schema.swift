import GRDB

/// The plaintext columns are only what lookups and retention need: random ids, the pseudonym,
/// kind, state, day-granular dates and keyed blind indexes. Everything else is sealed.
extension VaultStorage {
    static var recordsMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE vault_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE patron (
                    pseudonym BLOB PRIMARY KEY,
                    card_index BLOB NOT NULL UNIQUE,
                    email_index BLOB NOT NULL,
                    name_index BLOB NOT NULL,
                    history_keep INTEGER NOT NULL,
                    registration_id BLOB NOT NULL,
                    registered_day INTEGER NOT NULL,
                    expires_day INTEGER
                ) WITHOUT ROWID;
                CREATE INDEX patron_email ON patron(email_index);
                CREATE INDEX patron_name ON patron(name_index);
                CREATE TABLE record (
                    id BLOB PRIMARY KEY,
                    patron BLOB NOT NULL REFERENCES patron(pseudonym),
                    kind INTEGER NOT NULL,
                    state INTEGER NOT NULL,
                    item_index BLOB,
                    opened_day INTEGER NOT NULL,
                    due_day INTEGER,
                    closed_day INTEGER,
                    sealed BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX record_patron ON record(patron, kind, state);
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
                CREATE TABLE pending_shred (record_id BLOB PRIMARY KEY, patron BLOB) WITHOUT ROWID;
                """)
        }
        return migrator
    }

    static var keysMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE key_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE system_key (name TEXT PRIMARY KEY, kek_version INTEGER NOT NULL, wrapped BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE patron_key (pseudonym BLOB PRIMARY KEY, kek_version INTEGER NOT NULL, wrapped BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE record_key (record_id BLOB PRIMARY KEY, pseudonym BLOB NOT NULL, wrapped BLOB NOT NULL) WITHOUT ROWID;
                CREATE INDEX record_key_patron ON record_key(pseudonym);
                """)
        }
        return migrator
    }
}
