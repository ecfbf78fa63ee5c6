import GRDB

/// The trail's three tables. STRICT so that a value cannot sneak in with another type and still
/// encode to the same bytes; the verifier checks types again because an attacker can rebuild a
/// table without STRICT.
extension AuditTrail {
    /// Creates the tables and the state row if they do not exist; safe to run on every open.
    public static func createSchema(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS audit_entry (
                seq INTEGER PRIMARY KEY,
                time INTEGER NOT NULL,
                principal_kind TEXT NOT NULL,
                principal_id TEXT NOT NULL,
                principal_role TEXT NOT NULL,
                action TEXT NOT NULL,
                resource_kind TEXT NOT NULL,
                patron TEXT,
                purpose TEXT,
                decision TEXT NOT NULL,
                rule_ids TEXT NOT NULL,
                policy_digest TEXT NOT NULL,
                front_end TEXT NOT NULL,
                key_version INTEGER NOT NULL,
                mac BLOB NOT NULL,
                detail TEXT
            ) STRICT;
            CREATE INDEX IF NOT EXISTS audit_entry_by_patron ON audit_entry(patron, seq) WHERE patron IS NOT NULL;
            CREATE INDEX IF NOT EXISTS audit_entry_by_principal ON audit_entry(principal_id, seq);
            CREATE TABLE IF NOT EXISTS audit_checkpoint (
                size INTEGER PRIMARY KEY,
                root BLOB NOT NULL,
                time INTEGER NOT NULL,
                key_id BLOB NOT NULL,
                signature BLOB NOT NULL
            ) STRICT;
            CREATE TABLE IF NOT EXISTS audit_state (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                size INTEGER NOT NULL,
                frontier BLOB NOT NULL,
                last_mac BLOB NOT NULL,
                last_time INTEGER NOT NULL
            ) STRICT;
            INSERT OR IGNORE INTO audit_state (id, size, frontier, last_mac, last_time)
                VALUES (1, 0, x'', zeroblob(32), -9223372036854775808);
            """)
    }

    static let entryColumns = """
        seq, time, principal_kind, principal_id, principal_role, action, resource_kind, patron, purpose, \
        decision, rule_ids, policy_digest, front_end, key_version, detail
        """

    /// Adds the `detail` column (format 2 entries) to a trail made before it.
    public static func addDetailIfMissing(_ db: Database) throws {
        guard try !db.columns(in: "audit_entry").contains(where: { $0.name == "detail" }) else { return }
        try db.execute(sql: "ALTER TABLE audit_entry ADD COLUMN detail TEXT")
    }
}
