import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs the built `patronvaultd` on a free loopback port over a CLI's vault (same environment,
/// so the same fixed clock and policies), and talks to it with a real HTTP client.
final class Daemon: @unchecked Sendable {
    struct Response {
        let status: Int
        let headers: [String: String]
        let body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var jsonArray: [[String: Any]] { (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] ?? [] }
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    static var binary: URL { Bundle.main.bundleURL.appendingPathComponent("patronvaultd") }

    let process = Process()
    let base: URL
    private let errors: Pipe
    private let session: URLSession

    /// Starts the daemon and waits for its "listening on" line. On PostgreSQL it is given the
    /// vault's configuration file, as an admin would (the daemon takes it only as `--config`).
    init(_ cli: CLI, arguments: [String] = ["--port", "0"], env extra: [String: String] = [:]) throws {
        process.executableURL = Self.binary
        if let config = cli.configFile, !arguments.contains("--config") {
            process.arguments = arguments + ["--config", config]
        } else {
            process.arguments = arguments
        }
        process.environment = cli.environment.merging(extra) { _, new in new }
        let output = Pipe()
        errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "listening on "), let url = URL(string: String(text[range.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            process.waitUntilExit()
            throw CLIFailure(message: "patronvaultd did not start: \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        }
        base = url
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        session = URLSession(configuration: configuration)
    }

    /// One request; `json` is encoded as the body, `raw` sent as is.
    func request(_ method: String, _ path: String, token: String? = nil, json: [String: Any]? = nil, raw: Data? = nil) throws -> Response {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let raw {
            request.httpBody = raw
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<Response, any Error> = .failure(CLIFailure(message: "no response"))
        session.dataTask(with: request) { data, response, error in
            if let error {
                outcome = .failure(error)
            } else if let http = response as? HTTPURLResponse {
                let headers = Dictionary(http.allHeaderFields.map { ("\($0.key)", "\($0.value)") }, uniquingKeysWith: { first, _ in first })
                outcome = .success(Response(status: http.statusCode, headers: headers, body: data ?? Data()))
            }
            done.signal()
        }.resume()
        done.wait()
        return try outcome.get()
    }

    /// Sends SIGTERM and waits up to `seconds` for the exit; returns the status, or nil if it
    /// did not stop in time (it is then killed).
    @discardableResult
    func stop(within seconds: Double = 5) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while !hasExited, Date() < deadline { usleep(20_000) }
        guard hasExited else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Whether the process has ended, read from the kernel (a zombie has ended) rather than from
    /// `Process.isRunning`, which Foundation updates only when its reaper gets a thread: on a
    /// loaded machine that can come seconds after the exit.
    private var hasExited: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state == "Z" || state == "X" || !process.isRunning
    }

    /// What the daemon wrote to stderr (its log), once it has stopped.
    var log: String { String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
