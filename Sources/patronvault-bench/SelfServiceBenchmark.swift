import Foundation
import GRDB
import PatronVaultCore

/// A patron with a long reading history exports everything, then purges it (issue 11's limits:
/// 200 ms each for 10,000 history records). The baselines are plain SQLite reading the same
/// loans and writing them as one JSON file, and deleting them: less work (nothing opened,
/// checked against a record set, signed, rendered as HTML, shredded or audited).
enum SelfServiceBenchmark {
    struct Result {
        /// Median of three: the export read, opened, signed and written to a new folder.
        let export: Double
        let purge: Double
        let plainExport: Double
        let plainPurge: Double
        let bundleBytes: Int
        let purged: Int
    }

    static let card = "H000000001"
    static let pin = Array("73194".utf8)

    static func run(vault: Vault, staff: Principal, library: SyntheticLibrary, history: Int, directory: URL) async throws -> Result {
        var registration = library.registration(2)
        registration.cardBarcode = card
        registration.history = .keep
        let loans = (0..<history).map { j -> Loan in
            var loan = library.loan(9_000_000, j)
            loan.checkedOutAt = library.start.addingTimeInterval(-Double(history - j) * 3_600 - 86_400 * 30)
            loan.dueOn = CalendarDay(loan.checkedOutAt).adding(days: 21)
            loan.returnedAt = loan.checkedOutAt.addingTimeInterval(86_400 * 7)
            return loan
        }
        _ = try await vault.desk.importPatrons([PatronImport(registration: registration, loans: loans)], by: staff)
        try await vault.desk.resetPIN(card: card, pin: pin, purpose: "account-help", by: staff)
        let patron = try await vault.signIn.patron(card: card, pin: pin)

        var exports: [Double] = []
        var bytes = 0
        for round in 0..<3 {
            let folder = directory.appendingPathComponent("export-\(round)")
            exports.append(try await seconds {
                let bundle = try await vault.selfService.exportMyData(by: patron)
                try bundle.write(to: folder)
                bytes = bundle.files.reduce(0) { $0 + $1.bytes.count }
            })
        }
        var purged = 0
        let purge = try await seconds {
            purged = try await vault.selfService.purgeHistory(by: patron).purged
        }

        let plain = try PlainHistory(directory: directory, loans: loans)
        var plainExports: [Double] = []
        for round in 0..<3 {
            plainExports.append(try seconds { try plain.export(to: directory.appendingPathComponent("plain-\(round).json")) })
        }
        let plainPurge = try seconds { try plain.purge() }
        return Result(
            export: exports.sorted()[1], purge: purge, plainExport: plainExports.sorted()[1], plainPurge: plainPurge, bundleBytes: bytes, purged: purged)
    }

    /// The same loans in a plain table, for the baselines.
    struct PlainHistory {
        let queue: DatabaseQueue

        struct Row: Codable, FetchableRecord {
            let id: Int64
            let item: String
            let title: String
            let author: String?
            let branch: String
            let checkedOut: Int64
            let due: Int64
            let returned: Int64
        }

        init(directory: URL, loans: [Loan]) throws {
            queue = try PlainBaseline.open("plain-history.db", in: directory)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE loan(patron INTEGER NOT NULL, id INTEGER NOT NULL, item TEXT NOT NULL, title TEXT NOT NULL, author TEXT,
                        branch TEXT NOT NULL, checkedOut INTEGER NOT NULL, due INTEGER NOT NULL, returned INTEGER NOT NULL);
                    CREATE INDEX loan_patron ON loan(patron);
                    """)
                let insert = try db.makeStatement(sql: "INSERT INTO loan VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)")
                for (index, loan) in loans.enumerated() {
                    try insert.execute(arguments: [
                        index, loan.itemBarcode, loan.title, loan.author, loan.branch, Int64(loan.checkedOutAt.timeIntervalSince1970 * 1000),
                        loan.dueOn.daysSinceEpoch, Int64((loan.returnedAt ?? loan.checkedOutAt).timeIntervalSince1970 * 1000),
                    ])
                }
            }
        }

        func export(to file: URL) throws {
            let rows = try queue.read { db in try Row.fetchAll(db, sql: "SELECT id, item, title, author, branch, checkedOut, due, returned FROM loan WHERE patron = 1") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(rows).write(to: file)
        }

        func purge() throws {
            try queue.write { db in try db.execute(sql: "DELETE FROM loan WHERE patron = 1") }
        }
    }
}
