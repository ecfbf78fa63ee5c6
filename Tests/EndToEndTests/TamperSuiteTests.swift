import Foundation
import GRDB
import Testing

/// Edits an outside tester makes with `sqlite3` on a vault's two files, each on a fresh copy of
/// the same vault, each followed by the reads staff and the patrons make. Every read must either
/// fail with an integrity or corruption error (74, 73) or print exactly what it printed before
/// the edit; the reads an edit targets must fail. Nothing an edit hides or moves may appear.
@Suite("Database edits, class by class")
struct TamperSuiteTests {
    /// A read a person makes after the edit.
    enum Read: String, CaseIterable, Sendable {
        case staffShowA, staffShowB, meShowA, meHistoryA, meShowB

        func run(_ cli: CLI) throws -> CLI.Result {
            switch self {
            case .staffShowA: try cli.run(["patron", "show", "TA1", "--purpose", "circulation"])
            case .staffShowB: try cli.run(["patron", "show", "TB1", "--purpose", "circulation"])
            case .meShowA: try cli.run(["me", "show", "--card", "TA1", "--pin-stdin"], stdin: "2468")
            case .meHistoryA: try cli.run(["me", "history", "--card", "TA1", "--pin-stdin"], stdin: "2468")
            case .meShowB: try cli.run(["me", "show", "--card", "TB1", "--pin-stdin"], stdin: "1357")
            }
        }
    }

    /// One edit: SQL on `vault.db` and `keys.db`, with `earlier.vault` and `earlier.keys`
    /// attached (copies taken before A's history loan was returned and before A's open loan was
    /// lent), and the reads that must fail.
    struct Edit: Sendable, CustomTestStringConvertible {
        let name: String
        var vault: String = ""
        var keys: String = ""
        let mustFail: Set<Read>
        var testDescription: String { name }
    }

    /// A's records: the registration (kind 1), the open loan (item TI-OPEN) and the history loan
    /// (closed). B: registration and one open loan.
    static let aPatron = "(SELECT pseudonym FROM patron WHERE registration_id = (SELECT id FROM record WHERE kind = 1 ORDER BY rowid LIMIT 1))"
    static let bPatron = "(SELECT pseudonym FROM patron WHERE pseudonym <> \(aPatron))"
    static let aOpen = "(SELECT rowid FROM record WHERE patron = \(aPatron) AND kind = 2 AND state = 0)"
    static let aHistory = "(SELECT rowid FROM record WHERE patron = \(aPatron) AND kind = 2 AND state = 1)"
    static let aRegistration = "(SELECT rowid FROM record WHERE patron = \(aPatron) AND kind = 1)"
    static let bOpen = "(SELECT rowid FROM record WHERE patron = \(bPatron) AND kind = 2)"
    static let aAll: Set<Read> = [.staffShowA, .meShowA, .meHistoryA]
    static let both: Set<Read> = aAll.union([.staffShowB, .meShowB])

    /// In a key-store edit `vault.db` is attached, so the same subqueries find A's and B's rows.
    static let aOpenID = "(SELECT id FROM record WHERE rowid = \(aOpen))"

    static let edits: [Edit] = [
        // Class 3: hidden records.
        Edit(name: "A's open loan flipped to closed", vault: "UPDATE record SET state = 1 WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(name: "A's open loan's kind set to registration", vault: "UPDATE record SET kind = 1 WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(name: "A's open loan's kind set to an unknown value", vault: "UPDATE record SET kind = 7 WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(name: "A's open loan moved to B", vault: "UPDATE record SET patron = \(bPatron) WHERE rowid = \(aOpen)", mustFail: both),
        Edit(name: "A's open loan moved to a patron who does not exist", vault: "UPDATE record SET patron = x'00112233445566778899aabbccddeeff' WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(name: "A's open loan deleted", vault: "DELETE FROM record WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(name: "A's history loan deleted", vault: "DELETE FROM record WHERE rowid = \(aHistory)", mustFail: aAll),
        Edit(name: "A's history loan flipped to open", vault: "UPDATE record SET state = 0 WHERE rowid = \(aHistory)", mustFail: aAll),
        Edit(name: "A's history loan moved to B", vault: "UPDATE record SET patron = \(bPatron) WHERE rowid = \(aHistory)", mustFail: both),
        Edit(name: "B's open loan moved to A", vault: "UPDATE record SET patron = \(aPatron) WHERE rowid = \(bOpen)", mustFail: both),
        Edit(
            name: "A's open loan deleted and an untagged shred queued for it",
            vault: """
                INSERT INTO pending_shred(record_id, patron, version) SELECT id, patron, version FROM record WHERE rowid = \(aOpen);
                DELETE FROM record WHERE rowid = \(aOpen)
                """, mustFail: aAll),
        Edit(
            name: "A's open loan deleted and a shred queued with a forged tag",
            vault: """
                INSERT INTO pending_shred(record_id, patron, version, tag) SELECT id, patron, version, randomblob(32) FROM record WHERE rowid = \(aOpen);
                DELETE FROM record WHERE rowid = \(aOpen)
                """, mustFail: aAll),
        Edit(name: "A's open loan copied as a second row", vault: "INSERT INTO record(patron, id, kind, state, item_index, opened_day, due_day, closed_day, sealed, version) SELECT patron, randomblob(16), kind, state, NULL, opened_day, due_day, closed_day, sealed, version FROM record WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(name: "A's history loan copied to B", vault: "INSERT INTO record(patron, id, kind, state, item_index, opened_day, due_day, closed_day, sealed, version) SELECT \(bPatron), id, kind, state, NULL, opened_day, due_day, closed_day, sealed, version FROM record WHERE rowid = \(aHistory)", mustFail: [.staffShowB, .meShowB]),
        // Rows out of place or rewritten.
        Edit(name: "A's registration deleted", vault: "DELETE FROM record WHERE rowid = \(aRegistration)", mustFail: [.staffShowA, .meShowA, .meHistoryA]),
        Edit(name: "A's registration's kind set to loan", vault: "UPDATE record SET kind = 2 WHERE rowid = \(aRegistration)", mustFail: [.staffShowA, .meShowA]),
        Edit(name: "A's open loan's version raised", vault: "UPDATE record SET version = version + 1 WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(name: "A's open loan's id replaced", vault: "UPDATE record SET id = randomblob(16) WHERE rowid = \(aOpen)", mustFail: aAll),
        Edit(
            name: "A's two loans' sealed boxes swapped",
            vault: """
                CREATE TEMP TABLE boxes AS SELECT rowid AS r, sealed FROM record WHERE rowid IN (\(aOpen), \(aHistory));
                UPDATE record SET sealed = (SELECT sealed FROM boxes WHERE r <> record.rowid) WHERE rowid IN (\(aOpen), \(aHistory))
                """, mustFail: aAll),
        Edit(name: "A's registration id pointed at A's open loan", vault: "UPDATE patron SET registration_id = (SELECT id FROM record WHERE rowid = \(aOpen)) WHERE pseudonym = \(aPatron)", mustFail: [.staffShowA, .meShowA]),
        Edit(name: "A's and B's card indexes swapped", vault: """
            CREATE TEMP TABLE cards AS SELECT pseudonym AS p, card_index FROM patron;
            UPDATE patron SET card_index = randomblob(16);
            UPDATE patron SET card_index = (SELECT card_index FROM cards WHERE p <> patron.pseudonym)
            """, mustFail: [.staffShowA, .staffShowB, .meShowA, .meShowB, .meHistoryA]),
        // Class 1: rollback from an earlier copy.
        Edit(
            name: "A's history loan's open row copied back from an earlier vault.db",
            vault: """
                UPDATE record SET (state, item_index, closed_day, version, sealed) =
                    (SELECT e.state, e.item_index, e.closed_day, e.version, e.sealed FROM earlier.record e WHERE e.id = record.id)
                WHERE rowid = \(aHistory)
                """, mustFail: aAll),
        // Plaintext columns nothing is decided by: harmless.
        Edit(name: "A's open loan's due and opened days edited", vault: "UPDATE record SET due_day = due_day + 300, opened_day = 1 WHERE rowid = \(aOpen)", mustFail: []),
        Edit(name: "A's registration and expiry days edited", vault: "UPDATE patron SET registered_day = 1, expires_day = 99999 WHERE pseudonym = \(aPatron)", mustFail: []),
        Edit(name: "a shred with a forged tag queued for A's live open loan", vault: "INSERT INTO pending_shred(record_id, patron, version, tag) SELECT id, patron, version, randomblob(32) FROM record WHERE rowid = \(aOpen)", mustFail: []),
        // The key store.
        Edit(name: "A's record set replaced by B's", keys: "UPDATE patron_key SET record_set = (SELECT record_set FROM patron_key WHERE pseudonym = \(bPatron)) WHERE pseudonym = \(aPatron)", mustFail: aAll),
        Edit(name: "A's record set zeroed", keys: "UPDATE patron_key SET record_set = zeroblob(32) WHERE pseudonym = \(aPatron)", mustFail: aAll),
        Edit(name: "A's record set removed", keys: "UPDATE patron_key SET record_set = NULL WHERE pseudonym = \(aPatron)", mustFail: aAll),
        Edit(name: "A's record set cut short", keys: "UPDATE patron_key SET record_set = substr(record_set, 1, 16) WHERE pseudonym = \(aPatron)", mustFail: aAll),
        Edit(name: "A's open loan's key deleted", keys: "DELETE FROM record_key WHERE pseudonym = \(aPatron) AND record_id = \(aOpenID)", mustFail: [.staffShowA, .meShowA]),
        Edit(name: "A's open loan's key marked unsettled", keys: "UPDATE record_key SET settled = 0 WHERE pseudonym = \(aPatron) AND record_id = \(aOpenID)", mustFail: aAll),
        Edit(
            name: "A's open loan's key marked unsettled and its row deleted",
            vault: "DELETE FROM record WHERE rowid = \(aOpen)",
            keys: "UPDATE record_key SET settled = 0 WHERE pseudonym = \(aPatron) AND record_id = \(aOpenID)", mustFail: aAll),
        Edit(
            name: "A's open loan's key deleted with its row",
            vault: "DELETE FROM record WHERE rowid = \(aOpen)",
            keys: "DELETE FROM record_key WHERE pseudonym = \(aPatron) AND record_id = \(aOpenID)", mustFail: aAll),
        // Reads compute elements from the rows; the stored one is what a shred takes out of the
        // set, so this edit makes A's set fail at A's next destroying change, never hides a row.
        Edit(name: "A's open loan's stored element replaced by B's loan's", keys: "UPDATE record_key SET element = (SELECT element FROM record_key WHERE pseudonym = \(bPatron) AND record_id = (SELECT id FROM record WHERE patron = \(bPatron) AND kind = 2)) WHERE pseudonym = \(aPatron) AND record_id = \(aOpenID)", mustFail: []),
        Edit(name: "A's patron key deleted", keys: "DELETE FROM patron_key WHERE pseudonym = \(aPatron)", mustFail: [.staffShowA, .meShowA, .meHistoryA]),
        Edit(
            name: "A's record set copied back from an earlier keys.db, and the loan lent since deleted",
            vault: "DELETE FROM record WHERE rowid = \(aOpen)",
            keys: "UPDATE patron_key SET record_set = (SELECT e.record_set FROM earlier.patron_key e WHERE e.pseudonym = patron_key.pseudonym) WHERE pseudonym = \(aPatron)",
            mustFail: aAll),
    ]

    /// The vault every edit starts from, built once: A keeps history (one open loan, one
    /// returned), B discards it (one open loan). Copies of both files are taken along the way.
    static let base: Result<CLI, CLIFailure> = {
        do {
            let cli = try CLI.initialized()
            func ok(_ arguments: [String], stdin: String? = nil) throws {
                let result = try cli.run(arguments, stdin: stdin)
                guard result.status == 0 else { throw CLIFailure(message: "\(arguments.prefix(2)) failed: \(result.stderr)") }
            }
            try ok(["patron", "register", "--card", "TA1", "--name", "Ada Tamper", "--email", "ada@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468")
            try ok(["patron", "register", "--card", "TB1", "--name", "Bea Tamper", "--email", "bea@example.org", "--pin-stdin"], stdin: "1357")
            try FileManager.default.copyItem(at: cli.vault.appendingPathComponent("keys.db"), to: cli.home.appendingPathComponent("earlier-keys.db"))
            try ok(["loan", "checkout", "--card", "TA1", "--item", "TI-HIST", "--title", "A Hidden History"])
            try ok(["loan", "checkout", "--card", "TA1", "--item", "TI-OPEN", "--title", "An Open Loan"])
            try ok(["loan", "checkout", "--card", "TB1", "--item", "TI-B", "--title", "B Reads This"])
            try FileManager.default.copyItem(at: cli.vault.appendingPathComponent("vault.db"), to: cli.home.appendingPathComponent("earlier-vault.db"))
            try ok(["loan", "return", "--item", "TI-HIST"])
            return .success(cli)
        } catch {
            return .failure(CLIFailure(message: "\(error)"))
        }
    }()

    /// What each read prints on the untouched vault.
    static let baseline: Result<[Read: CLI.Result], CLIFailure> = {
        do {
            let cli = try base.get().copy()
            defer { cli.removeHome() }
            return .success(Dictionary(uniqueKeysWithValues: try Read.allCases.map { ($0, try $0.run(cli)) }))
        } catch {
            return .failure(CLIFailure(message: "\(error)"))
        }
    }()

    @Test("every edit is refused (74 or 73) or harmless, and the reads it targets fail", arguments: edits)
    func edit(_ edit: Edit) throws {
        let before = try Self.baseline.get()
        #expect(Read.allCases.allSatisfy { before[$0]?.status == 0 })
        #expect(before[.meHistoryA]?.stdout.contains("A Hidden History") == true)
        let cli = try Self.base.get().copy()
        defer { cli.removeHome() }
        let earlierVault = cli.home.appendingPathComponent("earlier-vault.db").path
        let earlierKeys = cli.home.appendingPathComponent("earlier-keys.db").path
        // The key-store edit goes first, finding A's and B's rows through `vault.db` as it is
        // before the vault edit (the two edits are one attack; their order does not matter).
        try Self.apply(edit.keys, to: "keys.db", in: cli, attaching: ["v": cli.vault.appendingPathComponent("vault.db").path, "earlier": earlierKeys])
        try Self.apply(edit.vault, to: "vault.db", in: cli, attaching: ["earlier": earlierVault])
        for read in Read.allCases {
            let after = try read.run(cli)
            let refused = after.status == 74 || after.status == 73
            if edit.mustFail.contains(read) {
                #expect(refused, "\(read): exit \(after.status)\n\(after.stdout)")
            } else {
                #expect(refused || (after.status == before[read]?.status && after.stdout == before[read]?.stdout), "\(read): exit \(after.status)\n\(after.stdout)")
            }
            if refused {
                #expect(after.stdout.isEmpty)
                for secret in ["A Hidden History", "An Open Loan", "B Reads This", "Ada Tamper", "Bea Tamper"] { #expect(!after.stderr.contains(secret)) }
            }
        }
    }
}

extension TamperSuiteTests {
    /// Runs an edit's SQL in one transaction on one file, with other files attached by name.
    static func apply(_ sql: String, to file: String, in cli: CLI, attaching others: [String: String]) throws {
        guard !sql.isEmpty else { return }
        let queue = try cli.database(file)
        defer { try? queue.close() }
        try queue.inDatabase { db in
            for (name, path) in others { try db.execute(sql: "ATTACH DATABASE ? AS \(name)", arguments: [path]) }
            try db.inTransaction {
                try db.execute(sql: sql)
                #expect(db.changesCount >= 1, "the edit of \(file) changed nothing")
                return .commit
            }
        }
    }
}

extension CLI {
    /// A copy of this CLI's folder (vault, key file, earlier copies), run with the same token.
    func copy() throws -> CLI {
        var copy = try CLI()
        try FileManager.default.removeItem(at: copy.home)
        try FileManager.default.copyItem(at: home, to: copy.home)
        copy.environment = environment
        copy.environment["PATRONVAULT_HOME"] = copy.vault.path
        return copy
    }
}
