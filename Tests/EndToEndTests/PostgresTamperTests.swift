import Foundation
import PatronVaultPostgres
import Testing

/// The edits `TamperSuiteTests` makes with sqlite3, made with psql on a vault kept in
/// PostgreSQL, by someone holding the databases' password: rows hidden, moved, copied, swapped,
/// rolled back from an earlier copy of each database, the key database's record sets replaced,
/// and the audit trail set back. The same core checks answer them, so every read either fails
/// with an integrity or corruption error (74, 73) or prints exactly what it printed before, and
/// the reads an edit targets fail.
@Suite("PostgreSQL: database edits through psql", .enabled(if: Backend.server != nil))
struct PostgresTamperTests {
    typealias Read = TamperSuiteTests.Read

    /// The reads made after each edit: a staff lookup of each patron and A's own history (a
    /// PIN sign-in), a subset of the SQLite suite's, which the same core checks answer.
    static let reads: [Read] = [.staffShowA, .staffShowB, .meHistoryA]

    /// SQL for the records database and the key database. `:A`, `:B` (pseudonyms) and `:A_OPEN`,
    /// `:A_HISTORY` (record ids) stand for `bytea` literals found in the base vault; `:EARLIER_HISTORY_ROW` and `:EARLIER_A_SET` for values read from the
    /// earlier copies, since one PostgreSQL database cannot read another.
    struct Edit: Sendable, CustomTestStringConvertible {
        let name: String
        var records: String = ""
        var keys: String = ""
        let mustFail: Set<Read>
        /// Whether `audit verify` must fail after it (the edit is to the trail).
        var trailBroken = false
        var testDescription: String { name }
    }

    static let aOpen = "patron = :A AND id = :A_OPEN"
    static let aHistory = "patron = :A AND id = :A_HISTORY"
    static let aAll: Set<Read> = [.staffShowA, .meShowA, .meHistoryA]
    static let both: Set<Read> = aAll.union([.staffShowB, .meShowB])
    static let random16 = "decode(md5(random()::text), 'hex')"

    static let edits: [Edit] = [
        Edit(name: "A's open loan flipped to closed", records: "UPDATE record SET state = 1 WHERE \(aOpen)", mustFail: aAll),
        Edit(name: "A's open loan moved to B", records: "UPDATE record SET patron = :B WHERE \(aOpen)", mustFail: both),
        Edit(name: "A's open loan deleted", records: "DELETE FROM record WHERE \(aOpen)", mustFail: aAll),
        Edit(name: "A's history loan deleted", records: "DELETE FROM record WHERE \(aHistory)", mustFail: aAll),
        Edit(
            name: "A's open loan deleted and an untagged shred queued for it",
            records: """
                INSERT INTO pending_shred (record_id, patron, version) SELECT id, patron, version FROM record WHERE \(aOpen);
                DELETE FROM record WHERE \(aOpen)
                """, mustFail: aAll),
        Edit(
            name: "A's open loan copied as a second row",
            records: """
                INSERT INTO record (patron, id, kind, state, item_index, opened_day, due_day, closed_day, sealed, version)
                SELECT patron, \(random16), kind, state, NULL, opened_day, due_day, closed_day, sealed, version FROM record WHERE \(aOpen)
                """, mustFail: aAll),
        Edit(
            name: "A's history loan copied to B",
            records: """
                INSERT INTO record (patron, id, kind, state, item_index, opened_day, due_day, closed_day, sealed, version)
                SELECT :B, id, kind, state, NULL, opened_day, due_day, closed_day, sealed, version FROM record WHERE \(aHistory)
                """, mustFail: [.staffShowB, .meShowB]),
        Edit(
            name: "A's two loans' sealed boxes swapped",
            records: """
                CREATE TEMP TABLE boxes AS SELECT id, sealed FROM record WHERE patron = :A AND id IN (:A_OPEN, :A_HISTORY);
                UPDATE record SET sealed = (SELECT b.sealed FROM boxes b WHERE b.id <> record.id) WHERE patron = :A AND id IN (:A_OPEN, :A_HISTORY)
                """, mustFail: aAll),
        Edit(
            name: "A's and B's card indexes swapped",
            records: """
                CREATE TEMP TABLE cards AS SELECT pseudonym AS p, card_index FROM patron;
                UPDATE patron SET card_index = \(random16);
                UPDATE patron SET card_index = (SELECT c.card_index FROM cards c WHERE c.p <> patron.pseudonym)
                """, mustFail: both),
        Edit(name: "A's open loan's version raised", records: "UPDATE record SET version = version + 1 WHERE \(aOpen)", mustFail: aAll),
        Edit(
            name: "A's registration id pointed at A's open loan",
            records: "UPDATE patron SET registration_id = :A_OPEN WHERE pseudonym = :A", mustFail: [.staffShowA, .meShowA]),
        Edit(
            name: "A's history loan's open row copied back from an earlier records database",
            records: "UPDATE record SET (state, item_index, closed_day, version, sealed) = :EARLIER_HISTORY_ROW WHERE \(aHistory)", mustFail: aAll),
        Edit(name: "A's open loan's due and opened days edited", records: "UPDATE record SET due_day = due_day + 300, opened_day = 1 WHERE \(aOpen)", mustFail: []),
        Edit(name: "A's record set replaced by B's", keys: "UPDATE patron_key SET record_set = (SELECT record_set FROM patron_key WHERE pseudonym = :B) WHERE pseudonym = :A", mustFail: aAll),
        Edit(name: "A's open loan's key deleted", keys: "DELETE FROM record_key WHERE pseudonym = :A AND record_id = :A_OPEN", mustFail: [.staffShowA, .meShowA]),
        Edit(name: "A's patron key deleted", keys: "DELETE FROM patron_key WHERE pseudonym = :A", mustFail: [.staffShowA, .meShowA, .meHistoryA]),
        Edit(
            name: "A's record set copied back from an earlier key database, and the loan lent since deleted",
            records: "DELETE FROM record WHERE \(aOpen)", keys: "UPDATE patron_key SET record_set = :EARLIER_A_SET WHERE pseudonym = :A", mustFail: aAll),
        // The trail: every read appends an entry, so a state row set back fails them all.
        Edit(name: "the audit state set back one entry", records: "UPDATE audit_state SET size = size - 1", mustFail: both, trailBroken: true),
        Edit(name: "an audit entry deleted", records: "DELETE FROM audit_entry WHERE seq = 3", mustFail: [], trailBroken: true),
        Edit(name: "an audit entry's action rewritten", records: "UPDATE audit_entry SET action = 'patron.read' WHERE seq = 4", mustFail: [], trailBroken: true),
    ]

    /// The base vault (A keeps history: one open loan, one returned; B discards it: one open
    /// loan), its earlier copies' values, and the literals the edits name.
    struct Base: Sendable {
        let cli: CLI
        let literals: [String: String]
    }

    static let base: Result<Base, CLIFailure> = {
        do {
            let cli = try CLI.initialized(backend: .postgres)
            let server = try #require(Backend.server)
            func ok(_ arguments: [String], stdin: String? = nil) throws {
                let result = try cli.run(arguments, stdin: stdin)
                guard result.status == 0 else { throw CLIFailure(message: "\(arguments.prefix(2)) failed: \(result.stderr)") }
            }
            try ok(["patron", "register", "--card", "TA1", "--name", "Ada Tamper", "--email", "ada@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468")
            try ok(["patron", "register", "--card", "TB1", "--name", "Bea Tamper", "--email", "bea@example.org", "--pin-stdin"], stdin: "1357")
            let earlierKeys = cli.databases[1] + "_earlier"
            try PostgresDatabases.create(earlierKeys, copying: cli.databases[1], on: server)
            try ok(["loan", "checkout", "--card", "TA1", "--item", "TI-HIST", "--title", "A Hidden History"])
            try ok(["loan", "checkout", "--card", "TA1", "--item", "TI-OPEN", "--title", "An Open Loan"])
            try ok(["loan", "checkout", "--card", "TB1", "--item", "TI-B", "--title", "B Reads This"])
            let earlierRecords = cli.databases[0] + "_earlier"
            try PostgresDatabases.create(earlierRecords, copying: cli.databases[0], on: server)
            try ok(["loan", "return", "--item", "TI-HIST"])
            defer {
                try? PostgresDatabases.drop(earlierKeys, on: server)
                try? PostgresDatabases.drop(earlierRecords, on: server)
            }

            func one(_ sql: String, on database: String? = nil) throws -> String {
                let rows = try database.map { try cli.psql(sql, on: $0) } ?? cli.psql(sql)
                guard rows.count == 1 else { throw CLIFailure(message: "expected one row from: \(sql)") }
                return rows[0]
            }
            func bytea(_ hex: String) -> String { "'\\x\(hex)'::bytea" }
            var literals: [String: String] = [:]
            literals[":A"] = bytea(try one("SELECT encode(pseudonym, 'hex') FROM patron WHERE registration_id = (SELECT id FROM record WHERE kind = 1 ORDER BY row_id LIMIT 1)"))
            literals[":B"] = bytea(try one("SELECT encode(pseudonym, 'hex') FROM patron WHERE pseudonym <> \(literals[":A"]!)"))
            func record(_ patron: String, _ condition: String) throws -> String {
                bytea(try one("SELECT encode(id, 'hex') FROM record WHERE patron = \(literals[patron]!) AND \(condition)"))
            }
            literals[":A_OPEN"] = try record(":A", "kind = 2 AND state = 0")
            literals[":A_HISTORY"] = try record(":A", "kind = 2 AND state = 1")
            let row = try one(
                "SELECT state, coalesce(encode(item_index, 'hex'), ''), coalesce(closed_day::text, ''), version, encode(sealed, 'hex') FROM record WHERE id = \(literals[":A_HISTORY"]!)",
                on: earlierRecords
            ).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard row.count == 5, row[1] != "" else { throw CLIFailure(message: "the earlier copy does not hold the open history loan") }
            literals[":EARLIER_HISTORY_ROW"] = "(\(row[0]), \(bytea(row[1])), \(row[2].isEmpty ? "NULL" : row[2]), \(row[3]), \(bytea(row[4])))"
            literals[":EARLIER_A_SET"] = bytea(try one("SELECT encode(record_set, 'hex') FROM patron_key WHERE pseudonym = \(literals[":A"]!)", on: earlierKeys))
            return .success(Base(cli: cli, literals: literals))
        } catch {
            return .failure(CLIFailure(message: "\(error)"))
        }
    }()

    /// What each read prints on the untouched vault, on a copy so the base's trail stays as it is.
    static let baseline: Result<[Read: CLI.Result], CLIFailure> = {
        do {
            let cli = try base.get().cli.copyOnPostgres()
            defer { cli.removeHome() }
            return .success(Dictionary(uniqueKeysWithValues: try reads.map { ($0, try $0.run(cli)) }))
        } catch {
            return .failure(CLIFailure(message: "\(error)"))
        }
    }()

    @Test("every psql edit is refused (74 or 73) or harmless, and the reads it targets fail", arguments: edits)
    func edit(_ edit: Edit) throws {
        let before = try Self.baseline.get()
        #expect(Self.reads.allSatisfy { before[$0]?.status == 0 })
        #expect(before[.meHistoryA]?.stdout.contains("A Hidden History") == true)
        let base = try Self.base.get()
        let cli = try base.cli.copyOnPostgres()
        defer { cli.removeHome() }
        func apply(_ sql: String, database: Int) throws {
            guard !sql.isEmpty else { return }
            var text = sql
            // Longest names first, so :A does not eat the start of :A_OPEN.
            for (name, literal) in base.literals.sorted(by: { $0.key.count > $1.key.count }) { text = text.replacingOccurrences(of: name, with: literal) }
            _ = try cli.psql("BEGIN; \(text); COMMIT", database: database)
        }
        try apply(edit.keys, database: 1)
        try apply(edit.records, database: 0)
        for read in Self.reads {
            let after = try read.run(cli)
            let refused = after.status == 74 || after.status == 73
            if edit.mustFail.contains(read) {
                #expect(refused, "\(read): exit \(after.status)\n\(after.stdout)\(after.stderr)")
            } else {
                #expect(refused || (after.status == before[read]?.status && after.stdout == before[read]?.stdout), "\(read): exit \(after.status)\n\(after.stdout)")
            }
            if refused {
                #expect(after.stdout.isEmpty)
                for secret in ["A Hidden History", "An Open Loan", "B Reads This", "Ada Tamper", "Bea Tamper"] { #expect(!after.stderr.contains(secret)) }
            }
        }
        if edit.trailBroken {
            let verify = try cli.run(["audit", "verify"])
            #expect(verify.status == 74, "audit verify: exit \(verify.status)\n\(verify.stdout)\(verify.stderr)")
        }
    }
}

extension CLI {
    /// A copy of a PostgreSQL vault: its folder (the key file) and both databases, copied whole
    /// by the server, run with the same token.
    func copyOnPostgres() throws -> CLI {
        let server = try #require(Backend.server)
        var copy = try CLI(backend: .postgres)
        for (index, database) in copy.databases.enumerated() {
            try PostgresDatabases.drop(database, on: server)
            try PostgresDatabases.create(database, copying: databases[index], on: server)
        }
        try FileManager.default.copyItem(at: vault, to: copy.vault)
        copy.environment["PATRONVAULT_TOKEN"] = environment["PATRONVAULT_TOKEN"]
        return copy
    }
}
