import Foundation
import PatronVaultCore
import PostgresNIO

/// The tables of the two databases, and the row that says which of the two a database is. Each
/// database carries its role and the vault's id: a records URL and a keys URL that name the same
/// database (under two spellings, or by mistake) are refused, and so is a key database of another
/// vault, because the erasure rule needs the keys apart from the records.
enum PostgresSchema {
    /// The schema this binary writes and reads. A database marked with a later version was
    /// upgraded by a newer PatronVault and is refused rather than misread.
    ///
    /// 2: the audit state row counts committed changes (`change_mark`), for lookups read on
    /// snapshots. A version 1 records database is upgraded when the vault opens.
    static let version: Int64 = 2

    enum Role: String, Sendable {
        case records
        case keys

        var storeName: String {
            switch self {
            case .records: "the records database"
            case .keys: "the key database"
            }
        }

        var other: Role { self == .records ? .keys : .records }
    }

    static let keysTables = """
        CREATE TABLE key_meta (name text PRIMARY KEY, value bytea NOT NULL);
        CREATE TABLE system_key (name text PRIMARY KEY, kek_version bigint NOT NULL, wrapped bytea NOT NULL);
        CREATE TABLE patron_key (
            row_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            pseudonym bytea NOT NULL UNIQUE,
            kek_version bigint NOT NULL,
            wrapped bytea NOT NULL,
            record_set bytea
        );
        CREATE TABLE record_key (
            pseudonym bytea NOT NULL,
            record_id bytea NOT NULL,
            version bigint NOT NULL,
            wrapped bytea NOT NULL,
            element bytea,
            settled boolean NOT NULL DEFAULT false,
            PRIMARY KEY (pseudonym, record_id, version)
        );
        CREATE INDEX record_key_unsettled ON record_key (pseudonym) WHERE NOT settled;
        CREATE TABLE staff_seal (id text PRIMARY KEY, tag bytea NOT NULL);
        """

    /// The records database: the embedded store's tables with PostgreSQL's types. Text that is
    /// ordered (staff names, legal order ids, statistics) is ordered bytewise (`COLLATE "C"`),
    /// as SQLite orders it, whatever the server's locale.
    static let recordsTables = """
        CREATE TABLE vault_meta (name text PRIMARY KEY, value bytea NOT NULL);
        CREATE TABLE patron (
            row_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            pseudonym bytea NOT NULL UNIQUE,
            card_index bytea NOT NULL UNIQUE,
            email_index bytea NOT NULL,
            name_index bytea NOT NULL,
            history_keep boolean NOT NULL,
            registration_id bytea NOT NULL,
            registered_day bigint NOT NULL,
            expires_day bigint
        );
        CREATE INDEX patron_email ON patron (email_index);
        CREATE INDEX patron_name ON patron (name_index);
        CREATE INDEX patron_expires ON patron (expires_day, pseudonym) WHERE expires_day IS NOT NULL;
        CREATE TABLE record (
            row_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            patron bytea NOT NULL,
            id bytea NOT NULL,
            kind bigint NOT NULL,
            state bigint NOT NULL,
            item_index bytea,
            opened_day bigint NOT NULL,
            due_day bigint,
            closed_day bigint,
            settled_day bigint,
            version bigint NOT NULL,
            sealed bytea NOT NULL,
            UNIQUE (patron, id)
        );
        CREATE UNIQUE INDEX record_open_item ON record (item_index) WHERE item_index IS NOT NULL;
        CREATE INDEX record_closed ON record (patron, closed_day) WHERE state = 1;
        CREATE INDEX record_settled ON record (patron, settled_day) WHERE state = 2;
        CREATE TABLE pin_attempt (
            pseudonym bytea PRIMARY KEY,
            failures bigint NOT NULL,
            locked_until bigint,
            last_failure_day bigint
        );
        CREATE TABLE staff (
            id text COLLATE "C" PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE,
            role text NOT NULL,
            token_hash bytea NOT NULL UNIQUE,
            created_at bigint NOT NULL,
            revoked_at bigint,
            remote_only boolean NOT NULL DEFAULT false
        );
        CREATE TABLE circulation_stat (
            item_barcode text COLLATE "C" NOT NULL,
            branch text COLLATE "C" NOT NULL,
            month text COLLATE "C" NOT NULL,
            returns bigint NOT NULL,
            PRIMARY KEY (item_barcode, branch, month)
        );
        CREATE TABLE pending_shred (
            record_id bytea NOT NULL,
            patron bytea NOT NULL,
            version bigint NOT NULL,
            tag bytea,
            PRIMARY KEY (record_id, version)
        );
        CREATE TABLE retention_progress (
            position bigint PRIMARY KEY,
            rule text NOT NULL,
            started_at bigint NOT NULL,
            cutoff_day bigint NOT NULL,
            cursor bytea,
            records bigint NOT NULL,
            patrons bigint NOT NULL,
            kept bigint NOT NULL,
            done boolean NOT NULL
        );
        CREATE TABLE legal_order (id text COLLATE "C" PRIMARY KEY, patron bytea NOT NULL, sealed bytea NOT NULL);
        CREATE INDEX legal_order_patron ON legal_order (patron);
        CREATE TABLE audit_entry (
            seq bigint PRIMARY KEY,
            time bigint NOT NULL,
            principal_kind text NOT NULL,
            principal_id text COLLATE "C" NOT NULL,
            principal_role text NOT NULL,
            action text NOT NULL,
            resource_kind text NOT NULL,
            patron text COLLATE "C",
            purpose text,
            decision text NOT NULL,
            rule_ids text NOT NULL,
            policy_digest text NOT NULL,
            front_end text NOT NULL,
            key_version bigint NOT NULL,
            mac bytea NOT NULL,
            detail text
        );
        CREATE INDEX audit_entry_by_patron ON audit_entry (patron, seq) WHERE patron IS NOT NULL;
        CREATE INDEX audit_entry_by_principal ON audit_entry (principal_id, seq);
        CREATE TABLE audit_checkpoint (
            size bigint PRIMARY KEY,
            root bytea NOT NULL,
            time bigint NOT NULL,
            key_id bytea NOT NULL,
            signature bytea NOT NULL
        );
        CREATE TABLE audit_state (
            id integer PRIMARY KEY CHECK (id = 1),
            size bigint NOT NULL,
            frontier bytea NOT NULL,
            last_mac bytea NOT NULL,
            last_time bigint NOT NULL,
            change_mark bigint NOT NULL DEFAULT 0
        );
        INSERT INTO audit_state (id, size, frontier, last_mac, last_time)
            VALUES (1, 0, ''::bytea, decode(repeat('00', 32), 'hex'), -9223372036854775808)
        """

    static let recordsTableNames = [
        "vault_meta", "patron", "record", "pin_attempt", "staff", "circulation_stat", "pending_shred", "retention_progress", "legal_order",
        "audit_entry", "audit_checkpoint", "audit_state",
    ]
    static let keysTableNames = ["key_meta", "system_key", "patron_key", "record_key", "staff_seal"]

    /// Makes `role`'s tables in an empty database and marks it, in one transaction: two
    /// processes creating at once leave one vault, and a failure leaves nothing.
    static func create(_ role: Role, tables: String, vaultID: [UInt8], in session: PostgresSession, location: PostgresLocation) throws {
        try checkWritable(role, in: session, location: location)
        try session.transaction { session in
            // Serialises concurrent creations on this database.
            try session.execute("SELECT pg_advisory_xact_lock(7263548101)")
            if let existing = try marker(in: session) {
                if existing.role == role.other {
                    throw VaultError(
                        .invalidInput,
                        "the records URL and the keys URL name the same database (\(location)); the erasure rule needs the keys in a database of their own")
                }
                throw VaultError(.alreadyInitialized, "a vault already exists in \(role.storeName) at \(location)")
            }
            try session.execute("""
                CREATE TABLE patronvault_database (
                    role text PRIMARY KEY CHECK (role IN ('records', 'keys')),
                    schema_version bigint NOT NULL,
                    vault_id bytea NOT NULL
                )
                """)
            for statement in tables.components(separatedBy: ";\n") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                try session.execute(PostgresQuery(unsafeSQL: statement))
            }
            try session.execute("INSERT INTO patronvault_database (role, schema_version, vault_id) VALUES (\(role.rawValue), \(version), \(vaultID.bytea))")
        }
    }

    /// Checks that the database is `role`'s, at a schema this binary reads, and returns the
    /// vault id it carries.
    static func check(_ role: Role, in session: PostgresSession, location: PostgresLocation) throws -> [UInt8] {
        guard let found = try marker(in: session) else {
            throw VaultError(.notInitialized, "\(role.storeName) at \(location) holds no PatronVault vault")
        }
        guard found.role == role else {
            throw VaultError(
                .invalidInput,
                "\(role.storeName) URL names \(found.role.storeName) (\(location)); the records URL and the keys URL must name two databases")
        }
        guard found.version <= version else {
            throw VaultError(
                .corruptVault,
                "\(role.storeName) at \(location) has schema version \(found.version), newer than this PatronVault reads (\(version)); upgrade PatronVault")
        }
        return found.vaultID
    }

    /// Brings a records database made at version 1 to this version, in one transaction: the
    /// audit state row gains its change mark. Only while no other process has the vault open
    /// (`claim` is its claim number): a process of the older version would commit changes
    /// without counting them, and lookups read on snapshots rely on the count.
    static func upgrade(_ role: Role, claim: Int64, in session: PostgresSession, location: PostgresLocation) throws {
        guard role == .records, let found = try marker(in: session), found.version < version else { return }
        try session.transaction { session in
            try session.execute("SELECT pg_advisory_xact_lock(7263548101)")
            guard try session.query("SELECT pg_try_advisory_xact_lock(\(claim))")[0].makeRandomAccess().bool(0) else {
                throw VaultError(
                    .conflict,
                    "\(role.storeName) at \(location) must be upgraded to schema version \(version) while no other process has the vault open; stop the other daemons and commands, then run this again")
            }
            try session.execute("ALTER TABLE audit_state ADD COLUMN IF NOT EXISTS change_mark bigint NOT NULL DEFAULT 0")
            try session.execute("UPDATE patronvault_database SET schema_version = \(version) WHERE role = 'records' AND schema_version < \(version)")
        }
    }

    /// Refuses a database that takes no writes (a hot standby, or one set read-only), before
    /// anything is attempted: a replica is for reading, and the vault writes on every access.
    static func checkWritable(_ role: Role, in session: PostgresSession, location: PostgresLocation) throws {
        let rows = try session.query("SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'")
        guard let row = rows.first?.makeRandomAccess() else { return }
        if try row.bool(0) || row.bool(1) {
            throw VaultError.storage("\(role.storeName) at \(location) is read-only (a replica?); point the vault at the primary")
        }
    }

    private static func marker(in session: PostgresSession) throws -> (role: Role, version: Int64, vaultID: [UInt8])? {
        guard let exists = try session.query("SELECT to_regclass('patronvault_database') IS NOT NULL").first?.makeRandomAccess(),
              try exists.bool(0)
        else { return nil }
        let rows = try session.query("SELECT role, schema_version, vault_id FROM patronvault_database")
        guard rows.count == 1, let row = rows.first?.makeRandomAccess(), let role = Role(rawValue: try row.string(0)), let vaultID = try row.optionalBytes(2) else {
            throw VaultError(.corruptVault, "the database's PatronVault marker was altered")
        }
        return (role, try row.int64(1), vaultID)
    }
}
