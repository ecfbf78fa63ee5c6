import Foundation
import Testing

/// A staff token is as good as the account: a token file others can read is refused, as the
/// master key file is.
@Suite("Token files")
struct TokenFileTests {
    @Test("a token file readable by group or others is refused with exit 71; at 0600 it works")
    func tokenFileMode() throws {
        var cli = try CLI.initialized()
        defer { cli.removeHome() }
        let token = try #require(cli.environment["PATRONVAULT_TOKEN"])
        cli.environment["PATRONVAULT_TOKEN"] = nil
        let file = cli.home.appendingPathComponent("token").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data(token.utf8), attributes: [.posixPermissions: 0o644]))
        let refused = try cli.run(["staff", "list", "--token-file", file])
        #expect(refused.status == 71)
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(refused.stderr.contains("chmod 600"))
        #expect(!refused.stderr.contains(token))
        #expect(refused.stdout.isEmpty)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        #expect(try cli.run(["staff", "list", "--token-file", file]).status == 0)
    }
}
