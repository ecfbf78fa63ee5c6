import Foundation
import GRDB
import Testing

/// The acceptance path of the vault core, through the built binary.
@Suite("Vault flow through the CLI")
struct VaultFlowTests {
    static let keeper = (card: "PVK40817", name: "Ottoline Marchbanks", email: "ottoline.marchbanks@example.org", pin: "4817")
    static let discarder = (card: "PVD93352", name: "Barnaby Quillfeather", email: "barnaby.quillfeather@example.org", pin: "9335")
    static let titles = ["The Quiet Cartographer", "Nine Rivers of Salt", "A Grammar of Hidden Things"]

    /// Runs init → staff add → two registrations → checkouts → returns, with a reader connection
    /// held open on both SQLite files so their WAL and shared-memory files stay on disk to be scanned.
    static func populatedVault(_ backend: Backend = .sqlite) throws -> (CLI, [DatabaseQueue]) {
        var cli = try CLI.initialized(backend: backend)
        let holders = backend == .sqlite ? [try cli.database("vault.db"), try cli.database("keys.db")] : []
        for holder in holders { _ = try holder.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") } }
        let added = try cli.run(["staff", "add", "desk1", "--role", "staff", "--json"])
        #expect(added.status == 0, "\(added.stderr)")
        cli.environment["PATRONVAULT_TOKEN"] = added.json["token"] as? String
        for (patron, history) in [(keeper, "keep"), (discarder, "discard")] {
            let r = try cli.run(
                ["patron", "register", "--card", patron.card, "--name", patron.name, "--email", patron.email,
                 "--phone", "+44 20 7946 0001", "--address", "12 Orchard Lane", "--birth-date", "1984-03-09",
                 "--history", history, "--pin-stdin"], stdin: patron.pin)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let loans = [(keeper.card, "IT-1001", titles[0]), (keeper.card, "IT-1002", titles[1]), (discarder.card, "IT-2001", titles[2])]
        for (card, item, title) in loans {
            let r = try cli.run(["loan", "checkout", "--card", card, "--item", item, "--title", title, "--author", "Imogen Vale"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        for item in ["IT-1001", "IT-2001"] {
            let r = try cli.run(["loan", "return", "--item", item])
            #expect(r.status == 0, "\(r.stderr)")
        }
        return (cli, holders)
    }

    @Test("keep and discard patrons: history kept for one, destroyed for the other, both counted", arguments: Backend.available)
    func historyFollowsPreference(_ backend: Backend) throws {
        let (cli, holders) = try Self.populatedVault(backend)
        defer { cli.removeHome() }
        _ = holders

        let kept = try cli.run(["me", "history", "--card", Self.keeper.card, "--pin-stdin", "--json"], stdin: Self.keeper.pin)
        #expect(kept.status == 0, "\(kept.stderr)")
        let history = kept.json["history"] as? [[String: Any]] ?? []
        #expect(history.map { $0["title"] as? String } == [Self.titles[0]])
        #expect(history.first?["returned"] != nil)

        let none = try cli.run(["me", "history", "--card", Self.discarder.card, "--pin-stdin", "--json"], stdin: Self.discarder.pin)
        #expect(none.status == 0, "\(none.stderr)")
        #expect((none.json["history"] as? [Any])?.isEmpty == true)

        let mine = try cli.run(["me", "show", "--card", Self.keeper.card, "--json"], env: ["PATRONVAULT_PIN": Self.keeper.pin])
        #expect(mine.status == 0, "\(mine.stderr)")
        #expect((mine.json["openLoans"] as? [[String: Any]])?.map { $0["item"] as? String } == ["IT-1002"])

        let stats = try cli.run(["stats", "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.json["totalReturns"] as? Int == 2)
        let items = (stats.json["statistics"] as? [[String: Any]] ?? []).compactMap { $0["item"] as? String }
        #expect(Set(items) == ["IT-1001", "IT-2001"])
    }

    @Test("staff see registration and open loans, never closed history", arguments: Backend.available)
    func staffViewExcludesHistory(_ backend: Backend) throws {
        let (cli, _) = try Self.populatedVault(backend)
        defer { cli.removeHome() }
        let shown = try cli.run(["patron", "show", Self.keeper.card, "--purpose", "patron-request", "--json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.json["name"] as? String == Self.keeper.name)
        #expect(shown.json["email"] as? String == Self.keeper.email)
        let open = (shown.json["openLoans"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String }
        #expect(open == [Self.titles[1]])
        #expect(!shown.stdout.contains(Self.titles[0]))
        let circulation = try cli.run(["patron", "show", Self.keeper.card, "--purpose", "circulation"])
        #expect(!circulation.stdout.contains(Self.titles[0]) && !circulation.stdout.contains(Self.titles[1]) && !circulation.stdout.contains(Self.keeper.email))

        let found = try cli.run(["patron", "find", "--name", "  ottoline   MARCHBANKS ", "--purpose", "account-help", "--json"])
        #expect(found.status == 0, "\(found.stderr)")
        #expect((found.json["matches"] as? [[String: Any]])?.first?["card"] as? String == Self.keeper.card)
        let byEmail = try cli.run(["patron", "find", "--email", Self.discarder.email.uppercased(), "--purpose", "holds", "--json"])
        #expect((byEmail.json["matches"] as? [[String: Any]])?.first?["card"] as? String == Self.discarder.card)
    }

    @Test(
        "PostgreSQL: no name, email, card barcode or title in any file of the cluster's data directory, WAL included",
        .enabled(if: Backend.server != nil && Backend.dataDirectory != nil))
    func noPlaintextInPostgresFiles() throws {
        let (cli, _) = try Self.populatedVault(.postgres)
        defer { cli.removeHome() }
        let server = try #require(Backend.server)
        // Every page written out, so the scan reads what a disk holds.
        let checkpoint = Process()
        checkpoint.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        checkpoint.arguments = ["-q", "-h", server.host, "-p", "\(server.port)", "-U", server.user, "-d", "postgres", "-c", "CHECKPOINT"]
        checkpoint.environment = ["PGPASSWORD": server.password ?? "", "PATH": "/usr/bin:/bin"]
        try checkpoint.run()
        checkpoint.waitUntilExit()
        #expect(checkpoint.terminationStatus == 0)
        var needles = Self.titles
        for patron in [Self.keeper, Self.discarder] {
            needles += [patron.card, patron.name, patron.email, String(patron.name.split(separator: " ")[1]), "Imogen Vale"]
        }
        var scanned = 0
        var controlFound = false
        let root = try #require(Backend.dataDirectory)
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let file = walker?.nextObject() as? URL {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true, let bytes = try? Data(contentsOf: file) else { continue }
            scanned += 1
            if bytes.contains("IT-1001") { controlFound = true }
            for needle in needles {
                #expect(!bytes.contains(needle), "\(file.lastPathComponent) holds a patron field in plaintext")
            }
        }
        // Control: the anonymous statistic keeps item barcodes in the clear by design.
        #expect(controlFound && scanned > 100)
    }

    @Test("no name, email, card barcode or title in the raw bytes of any database file")
    func noPlaintextAtRest() throws {
        let (cli, holders) = try Self.populatedVault()
        defer { cli.removeHome() }
        let files = try cli.rawDatabaseBytes()
        let names = Set(files.map(\.0))
        #expect(names.isSuperset(of: ["vault.db", "keys.db", "vault.db-wal", "vault.db-shm", "keys.db-shm"]))
        var needles = Self.titles
        for patron in [Self.keeper, Self.discarder] {
            needles += [patron.card, patron.card.lowercased(), patron.name, patron.name.lowercased(), patron.email,
                        String(patron.name.split(separator: " ")[1]), "12 Orchard Lane", "Imogen Vale"]
        }
        // Control: the anonymous statistic keeps item barcodes in the clear by design, so the scan
        // must find one; if it did not, it would not be reading the files' real content.
        #expect(files.contains { $0.1.contains("IT-1001") })
        for (file, bytes) in files {
            for needle in needles {
                #expect(!bytes.contains(needle), "\(file) holds a patron field in plaintext")
            }
        }
        _ = holders
    }

    @Test("a discard patron's returned loan cannot be recovered: its wrapped key is gone from keys.db and its WAL")
    func returnedLoanKeyIsShredded() throws {
        var cli = try CLI.initialized()
        defer { cli.removeHome() }
        let keys = try cli.database("keys.db")
        _ = try keys.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key") }
        // Held open so the CLI's exit does not delete vault.db-wal: only the vault's own
        // truncation can empty it.
        let recordsHolder = try cli.database("vault.db")
        _ = try recordsHolder.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record") }
        let p = Self.discarder
        #expect(try cli.run(["patron", "register", "--card", p.card, "--name", p.name, "--email", p.email]).status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", p.card, "--item", "IT-77", "--title", Self.titles[2]]).status == 0)
        let before = Set(try keys.read { try Data.fetchAll($0, sql: "SELECT wrapped FROM record_key") })
        cli.environment["PATRONVAULT_NOW"] = "2026-11-29T15:30:00Z"
        let returned = try cli.run(["loan", "return", "--item", "IT-77", "--json"])
        #expect(returned.json["outcome"] as? String == "destroyed", "\(returned.stderr)")
        let after = Set(try keys.read { try Data.fetchAll($0, sql: "SELECT wrapped FROM record_key") })
        let shredded = before.subtracting(after)
        #expect(shredded.count == 1)
        // The commit that paired the statistic with the patron's pseudonym is gone from the WAL.
        let recordsWAL = cli.vault.appendingPathComponent("vault.db-wal").path
        #expect(FileManager.default.fileExists(atPath: recordsWAL))
        #expect((try? FileManager.default.attributesOfItem(atPath: recordsWAL)[.size] as? Int) ?? -1 == 0)
        let files = try cli.rawDatabaseBytes().filter { $0.0.hasPrefix("keys.db") }
        #expect(files.contains { $0.0 == "keys.db-wal" })
        for (file, bytes) in files {
            for key in shredded {
                #expect(!bytes.contains(bytes: key), "\(file) still holds the shredded record key")
            }
        }
        let records = try cli.database("vault.db")
        #expect(try records.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record WHERE kind = 2") } == 0)
        #expect(try records.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM pending_shred") } == 0)
        #expect(try records.read { try String.fetchOne($0, sql: "SELECT month FROM circulation_stat") } == "2026-11")
    }
}
