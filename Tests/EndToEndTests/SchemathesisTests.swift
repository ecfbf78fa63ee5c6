import Foundation
import Testing

/// Schemathesis (PyPI) generates requests from `openapi.yaml` against the running daemon, with a
/// staff token and then with a patron session, and fails on any 5xx, a response the document
/// does not describe (status, content type or body), or a crash. `.ci/run` installs it.
@Suite("The daemon against its OpenAPI document", .serialized)
struct SchemathesisTests {
    static var document: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/patronvaultd/openapi.yaml").path
    }

    /// Runs `st run` and returns its exit status and output.
    static func schemathesis(_ arguments: [String], in cli: CLI) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["st", "run", document] + arguments + [
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples", "12", "--no-color",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["SCHEMATHESIS_HOOKS"] = nil
        process.environment = environment
        process.currentDirectoryURL = cli.home
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: text, stderr: "")
    }

    @Test("generated staff and patron requests get only documented answers, never a 5xx", arguments: Backend.available)
    func generatedRequests(_ backend: Backend) throws {
        let cli = try CLI.initialized(backend: backend)
        defer { cli.removeHome() }
        let token = cli.environment["PATRONVAULT_TOKEN"]!
        #expect(try cli.run(["patron", "register", "--card", "S1", "--name", "Sam Reader", "--email", "sam@example.org", "--history", "keep", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["loan", "checkout", "--card", "S1", "--item", "SB-1", "--title", "Generated"]).status == 0)
        let daemon = try Daemon(cli)

        let staff = try Self.schemathesis(["--url", daemon.base.absoluteString, "-H", "Authorization: Bearer \(token)"], in: cli)
        #expect(staff.status == 0, "\(staff.stdout.suffix(4_000))")
        #expect(staff.stdout.contains(" passed"), "schemathesis did not run: install it with python3 -m pip install schemathesis")

        let session = try daemon.request("POST", "/v1/sessions", json: ["card": "S1", "pin": "2468"]).json["token"] as? String ?? ""
        let patron = try Self.schemathesis(
            ["--url", daemon.base.absoluteString, "-H", "Authorization: Bearer \(session)", "--include-path-regex", "^/v1/me", "--exclude-path", "/v1/me/erase"], in: cli)
        #expect(patron.status == 0, "\(patron.stdout.suffix(4_000))")
        #expect(!patron.stdout.contains("returned only 401/403"), "the patron pass never got past authentication")

        #expect(daemon.stop() == 0)
        #expect(try cli.run(["audit", "verify"]).status == 0)
    }
}
