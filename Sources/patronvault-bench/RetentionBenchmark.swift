import Foundation
import GRDB
import PatronVaultCore

/// Issue 12's limit: a confirmed retention run over 1,000,000 returned loans due under the
/// kept-history rule in ≤ 10 s on this machine's 2 cores, against a plain SQLite `DELETE` of the
/// same rows in the same run (target ≥ 0.5×). The vault is its own, built for this row: patrons
/// who keep history, each with loans returned five years before the run.
enum RetentionBenchmark {
    struct Result {
        let purged: Int
        let seconds: Double
        let plainSeconds: Double
        let buildSeconds: Double
        let keysDestroyed: Bool
    }

    static func run(loans total: Int, perPatron: Int, policies: URL, directory: URL) async throws -> Result {
        let library = SyntheticLibrary(patrons: max(1, total / perPatron), loansPerPatron: perPatron)
        let built = library.start
        let runDay = built.addingTimeInterval(86_400 * 365 * 5)
        let clock = ManualClock(built)
        var configuration = VaultConfiguration()
        configuration.clock = clock
        let (vault, admin) = try await Vault.initialize(
            at: directory.appendingPathComponent("retention-vault"), masterKey: .keyFile(directory.appendingPathComponent("retention.key")),
            adminName: "bench", policies: try Vault.loadPolicies(from: policies), configuration: configuration)
        let staff = try await vault.signIn.staff(token: admin.token)
        let returned = built.addingTimeInterval(-86_400 * 30)
        let buildSeconds = try await seconds {
            for start in stride(from: 0, to: library.patrons, by: 1_000) {
                let batch = (start..<min(library.patrons, start + 1_000)).map { i -> PatronImport in
                    var registration = library.registration(i)
                    registration.history = .keep
                    registration.cardExpiry = CalendarDay(runDay).adding(days: 3_650)
                    let loans = (0..<perPatron).map { j -> Loan in
                        var loan = library.loan(i, j)
                        loan.checkedOutAt = returned.addingTimeInterval(-86_400 * 14)
                        loan.returnedAt = returned
                        return loan
                    }
                    return PatronImport(registration: registration, loans: loans)
                }
                _ = try await vault.desk.importPatrons(batch, by: staff)
            }
        }
        clock.set(runDay)
        var report: RetentionReport?
        let elapsed = try await seconds { report = try await vault.retention.run(by: staff) }
        await vault.close()
        let purged = report?.rules.first { $0.kind == "history" }?.records ?? 0

        let plain = try PlainClosedLoans(directory: directory, patrons: library.patrons, perPatron: perPatron)
        let plainSeconds = try seconds { try plain.purge(closedOnOrBefore: 1) }
        return Result(purged: purged, seconds: elapsed, plainSeconds: plainSeconds, buildSeconds: buildSeconds, keysDestroyed: report?.keysDestroyed ?? false)
    }

    /// The same loans in a plain table with an index on (patron, closed day), as the vault's.
    struct PlainClosedLoans {
        let queue: DatabaseQueue

        init(directory: URL, patrons: Int, perPatron: Int) throws {
            queue = try PlainBaseline.open("plain-retention.db", in: directory)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE loan(patron INTEGER NOT NULL, item TEXT NOT NULL, title TEXT NOT NULL, closed_day INTEGER NOT NULL);
                    CREATE INDEX loan_closed ON loan(patron, closed_day);
                    """)
                let insert = try db.makeStatement(sql: "INSERT INTO loan VALUES (?, ?, ?, 0)")
                for patron in 0..<patrons {
                    for j in 0..<perPatron { try insert.execute(arguments: [patron, "I\(patron)-\(j)", "A title of some length, \(j)"]) }
                }
            }
        }

        func purge(closedOnOrBefore day: Int) throws {
            try queue.write { db in try db.execute(sql: "DELETE FROM loan WHERE closed_day <= ?", arguments: [day]) }
            try queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
    }
}
