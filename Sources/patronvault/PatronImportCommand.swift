import ArgumentParser
import Dispatch
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd
import Synchronization

/// `patron import FILE`: patrons and their loans from another library system, one JSON object a
/// line, sealed in one transaction: the whole file lands or nothing does.
struct PatronImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import patrons and loans from a JSON Lines file, all or nothing.",
        discussion: """
            One object a line: {"card","name","email", optional "phone","address","birthDate","branch",\
            "category","expires","history" (keep|discard), "loans": [{"item","title","checkedOut" \
            (ISO 8601),"due" (YYYY-MM-DD), optional "author","branch","returned" (ISO 8601)}]}. A \
            loan's item, title, checkedOut and due are required; "returned" only for patrons who keep \
            history. Imported patrons have no PIN yet. Errors name the line and the field, never the value.
            """)

    @OptionGroup var options: VaultOptions
    @OptionGroup var credentials: StaffCredentials
    @Argument(help: "The JSON Lines file.") var file: String

    struct Line: Decodable {
        struct LoanLine: Decodable {
            var item: String
            var title: String
            var author: String?
            var branch: String?
            var checkedOut: String
            var due: String
            var returned: String?
        }

        var registration: RegistrationDocument
        var loans: [LoanLine]?

        private enum CodingKeys: String, CodingKey { case loans }

        /// The registration's fields and `loans`, side by side in one object.
        init(from decoder: any Decoder) throws {
            registration = try RegistrationDocument(from: decoder)
            loans = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([LoanLine].self, forKey: .loans)
        }
    }

    /// What an import reports: how many patrons and how many sealed records landed.
    private struct Output: Encodable {
        let patrons: Int
        let records: Int
    }

    func run() async throws {
        try await Terminal.report {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("the import file \(file) cannot be read")
            }
            let batch = try Self.patrons(in: data)
            guard !batch.isEmpty else { throw ValidationError("the import file \(file) holds no patrons") }
            let written = try await options.withVault { vault in
                try await vault.desk.importPatrons(batch, by: try await credentials.principal(in: vault))
            }
            if options.json {
                try Terminal.json(Output(patrons: batch.count, records: written))
            } else {
                Terminal.line("Imported \(batch.count) patrons (\(written) sealed records).")
            }
        }
    }

    /// Every patron in the file, parsed on all cores in line order; the first bad line (by line
    /// number) is the one reported.
    static func patrons(in data: Data) throws -> [PatronImport] {
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, lines.count / 256 + 1))
        let perWorker = (lines.count + workers - 1) / workers
        let results = Mutex<[Int: Result<[PatronImport], any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (worker * perWorker)..<min(lines.count, (worker + 1) * perWorker)
            let parsed = Result { () throws -> [PatronImport] in
                var patrons: [PatronImport] = []
                patrons.reserveCapacity(range.count)
                for index in range {
                    let raw = lines[index]
                    guard raw.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { continue }
                    patrons.append(try patron(from: Data(raw), line: index + 1))
                }
                return patrons
            }
            results.withLock { $0[worker] = parsed }
        }
        return try results.withLock { shares in try (0..<workers).flatMap { try shares[$0]!.get() } }
    }

    static func patron(from data: Data, line: Int) throws -> PatronImport {
        let entry: Line
        do {
            entry = try JSONDecoder().decode(Line.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw ValidationError("line \(line): the field \(key.stringValue) is missing")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw ValidationError("line \(line): the field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch {
            throw ValidationError("line \(line): not a JSON object")
        }
        func day(_ text: String, _ field: String) throws -> CalendarDay {
            guard let day = try? CalendarDay(parsing: text, field: field) else { throw ValidationError("line \(line): \(field) is not a date (YYYY-MM-DD)") }
            return day
        }
        func instant(_ text: String, _ field: String) throws -> Date {
            // A format style, not a new `ISO8601DateFormatter` per loan: making one costs more than
            // sealing the loan.
            guard let date = try? Date(text, strategy: .iso8601) else { throw ValidationError("line \(line): \(field) is not an ISO 8601 time") }
            return date
        }
        let registration: PatronRegistration
        do {
            registration = try entry.registration.registration()
        } catch {
            throw ValidationError("line \(line): \(error.sentence)")
        }
        let loans = try (entry.loans ?? []).map { loan in
            Loan(
                itemBarcode: loan.item, title: loan.title, author: loan.author, branch: loan.branch ?? entry.registration.branch ?? VaultConfiguration().defaultBranch,
                checkedOutAt: try instant(loan.checkedOut, "loans.checkedOut"), dueOn: try day(loan.due, "loans.due"),
                returnedAt: try loan.returned.map { try instant($0, "loans.returned") })
        }
        return PatronImport(registration: registration, loans: loans)
    }
}
