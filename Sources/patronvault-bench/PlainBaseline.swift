import Foundation
import GRDB

/// The same operations on a plain, unencrypted SQLite schema with comparable indexes: what a
/// library system does today, measured in the same run as the vault.
struct PlainBaseline {
    let queue: DatabaseQueue

    /// A plain database file as every baseline opens it: WAL, `synchronous=NORMAL` and the same
    /// 64 MiB page cache the vault's files have.
    static func open(_ name: String, in directory: URL) throws -> DatabaseQueue {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        let queue = try DatabaseQueue(path: directory.appendingPathComponent(name).path, configuration: config)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        return queue
    }

    init(directory: URL) throws {
        queue = try Self.open("plain.db", in: directory)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE patron (
                    id INTEGER PRIMARY KEY, card TEXT NOT NULL UNIQUE, name TEXT NOT NULL, name_norm TEXT NOT NULL, email TEXT NOT NULL,
                    phone TEXT, address TEXT, birth_day INTEGER, branch TEXT, category TEXT, expires_day INTEGER, history_keep INTEGER NOT NULL,
                    registered_day INTEGER NOT NULL);
                CREATE INDEX patron_email ON patron(email);
                CREATE INDEX patron_name ON patron(name_norm);
                CREATE TABLE loan (
                    id INTEGER PRIMARY KEY, patron_id INTEGER NOT NULL, item TEXT NOT NULL, title TEXT NOT NULL, author TEXT, branch TEXT NOT NULL,
                    checked_out INTEGER NOT NULL, due_day INTEGER NOT NULL, returned INTEGER, state INTEGER NOT NULL);
                CREATE INDEX loan_patron ON loan(patron_id, state);
                CREATE UNIQUE INDEX loan_open_item ON loan(item) WHERE state = 0;
                CREATE TABLE access_log (
                    id INTEGER PRIMARY KEY, time INTEGER NOT NULL, principal TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
                    resource TEXT NOT NULL, patron_id INTEGER, purpose TEXT, decision TEXT NOT NULL, rules TEXT NOT NULL,
                    policy_digest TEXT NOT NULL, front_end TEXT NOT NULL);
                CREATE INDEX access_log_patron ON access_log(patron_id, id);
                CREATE INDEX access_log_principal ON access_log(principal, id);
                CREATE TABLE circulation_stat (item TEXT NOT NULL, branch TEXT NOT NULL, month TEXT NOT NULL, returns INTEGER NOT NULL,
                    PRIMARY KEY (item, branch, month)) WITHOUT ROWID;
                """)
        }
    }

    /// One batch of rows, generated before the timed write.
    struct Batch {
        var patrons: [StatementArguments] = []
        var loans: [StatementArguments] = []
    }

    static func batch(_ library: SyntheticLibrary, patrons range: Range<Int>) -> Batch {
        var batch = Batch()
        for i in range {
            let r = library.registration(i)
            batch.patrons.append([
                i, r.cardBarcode, r.fullName, r.fullName.lowercased(), r.email, r.phone, r.postalAddress, r.birthDate?.daysSinceEpoch,
                r.homeBranch, r.category, r.cardExpiry?.daysSinceEpoch, r.history == .keep, 20_000,
            ])
            for j in 0..<library.loansPerPatron {
                let l = library.loan(i, j)
                batch.loans.append([i, l.itemBarcode, l.title, l.author, l.branch, Int64(l.checkedOutAt.timeIntervalSince1970 * 1000), l.dueOn.daysSinceEpoch])
            }
        }
        return batch
    }

    func ingest(_ batch: Batch) throws {
        try queue.write { db in
            let patron = try db.cachedStatement(sql: """
                INSERT INTO patron(id, card, name, name_norm, email, phone, address, birth_day, branch, category, expires_day, history_keep, registered_day)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let loan = try db.cachedStatement(sql: """
                INSERT INTO loan(patron_id, item, title, author, branch, checked_out, due_day, state) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
                """)
            for arguments in batch.patrons { try patron.execute(arguments: arguments) }
            for arguments in batch.loans { try loan.execute(arguments: arguments) }
        }
    }

    /// A desk lookup: the patron row by card and their open loans, read without a transaction and
    /// writing nothing. Less work than the vault's lookup, which commits two audit entries.
    func lookup(card: String) throws -> Int {
        try queue.inDatabase { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM patron WHERE card = ?"), arguments: [card]) else { return 0 }
            let loans = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM loan WHERE patron_id = ? AND state = 0"), arguments: [row["id"] as Int64])
            return loans.count
        }
    }

    /// A desk lookup as an audited system would make it: the same reads, and two access-log rows
    /// (the request and the patron found) committed with them, as the vault commits two audit
    /// entries per lookup.
    func loggedLookup(card: String, time: Int64) throws -> Int {
        try queue.write { db in
            let log = try db.cachedStatement(sql: """
                INSERT INTO access_log(time, principal, role, action, resource, patron_id, purpose, decision, rules, policy_digest, front_end)
                VALUES (?, 'stf-bench', 'staff', ?, ?, ?, 'circulation', 'permit', 'staff-lookup-with-purpose', ?, 'bench')
                """)
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM patron WHERE card = ?"), arguments: [card]) else { return 0 }
            let id = row["id"] as Int64
            let loans = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM loan WHERE patron_id = ? AND state = 0"), arguments: [id])
            try log.execute(arguments: [time, "patron.read", "registration", id, Self.policyDigest])
            try log.execute(arguments: [time, "loan.read-open", "loan", id, Self.policyDigest])
            return loans.count
        }
    }

    private static let policyDigest = String(repeating: "ab", count: 32)

    /// A checkout: the patron by card, the item not already out, one loan row written.
    func checkout(card: String, item: String, title: String) throws {
        try queue.write { db in
            guard let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM patron WHERE card = ?"), arguments: [card]) else { return }
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM loan WHERE item = ? AND state = 0"), arguments: [item]) != true else { return }
            try db.cachedStatement(sql: """
                INSERT INTO loan(patron_id, item, title, author, branch, checked_out, due_day, state) VALUES (?, ?, ?, NULL, 'main', 0, 0, 0)
                """).execute(arguments: [id, item, title])
        }
    }

    /// A return that "anonymises" the way library systems do today: delete the row, count the statistic.
    func returnItem(_ item: String) throws {
        try queue.write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, branch FROM loan WHERE item = ? AND state = 0"), arguments: [item]) else { return }
            try db.cachedStatement(sql: "DELETE FROM loan WHERE id = ?").execute(arguments: [row["id"] as Int64])
            try db.cachedStatement(sql: """
                INSERT INTO circulation_stat(item, branch, month, returns) VALUES (?, ?, '2026-11', 1)
                ON CONFLICT(item, branch, month) DO UPDATE SET returns = returns + 1
                """).execute(arguments: [item, row["branch"] as String])
        }
    }
}
