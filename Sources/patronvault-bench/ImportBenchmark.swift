import Foundation
import PatronVaultFrontEnd

/// `patron import` as an admin runs it: the release `patronvault` binary beside this one, on a
/// fresh vault, importing the synthetic library from a JSON Lines file. The wall time of the
/// import process is timed whole (start-up, key, parsing, sealing, writing).
enum ImportBenchmark {
    struct Figures {
        let records: Int
        let seconds: Double
    }

    /// Nil when no `patronvault` binary sits beside the benchmark.
    static func run(_ library: SyntheticLibrary, policies: URL, in workspace: URL) throws -> Figures? {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("patronvault")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { return nil }
        let file = workspace.appendingPathComponent("import.jsonl")
        try lines(library).write(to: file)
        var environment = [
            "PATRONVAULT_HOME": workspace.appendingPathComponent("import-vault").path, "PATRONVAULT_POLICIES": policies.path,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let initialized = try run(binary, ["init", "--json"], environment: environment)
        guard initialized.status == 0,
              let object = try? JSONSerialization.jsonObject(with: initialized.output) as? [String: Any], let token = object["token"] as? String
        else { throw BenchmarkFailure(message: "patronvault init failed") }
        environment["PATRONVAULT_TOKEN"] = token
        let start = ContinuousClock.now
        let imported = try run(binary, ["patron", "import", file.path], environment: environment)
        let elapsed = ContinuousClock.now - start
        guard imported.status == 0 else { throw BenchmarkFailure(message: "patronvault patron import failed") }
        return Figures(records: library.recordCount, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// The library as another system would export it: one JSON object a line.
    static func lines(_ library: SyntheticLibrary) throws -> Data {
        let encoder = JSONEncoder()
        var out = Data()
        for i in 0..<library.patrons {
            let r = library.registration(i)
            let line = Line(
                registration: RegistrationDocument(r),
                loans: (0..<library.loansPerPatron).map { j in
                    let l = library.loan(i, j)
                    return Line.LoanLine(
                        item: l.itemBarcode, title: l.title, author: l.author, branch: l.branch,
                        checkedOut: l.checkedOutAt.formatted(.iso8601), due: l.dueOn.description)
                })
            out.append(try encoder.encode(line))
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    private struct Line: Encodable {
        struct LoanLine: Encodable {
            let item: String
            let title: String
            let author: String?
            let branch: String
            let checkedOut: String
            let due: String
        }

        let registration: RegistrationDocument
        let loans: [LoanLine]

        private enum CodingKeys: String, CodingKey { case loans }

        /// The registration's fields and `loans` in one object, as `patron import` reads them.
        func encode(to encoder: any Encoder) throws {
            try registration.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(loans, forKey: .loans)
        }
    }

    private static func run(_ binary: URL, _ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
