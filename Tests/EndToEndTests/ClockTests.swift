import Foundation
import GRDB
import Testing

/// `PATRONVAULT_NOW` is for tests and demos: a vault created on the real clock refuses it, so it
/// can neither pin audit times to the future nor step past a lockout.
@Suite("The clock override")
struct ClockTests {
    /// A vault initialised without `PATRONVAULT_NOW`: the real clock, as in production.
    static func realClockVault(_ backend: Backend = .sqlite) throws -> CLI {
        var cli = try CLI(backend: backend)
        cli.environment["PATRONVAULT_NOW"] = nil
        let result = try cli.run(["init", "--json"])
        guard result.status == 0, let token = result.json["token"] as? String else {
            throw CLIFailure(message: "init failed: \(result.stderr)")
        }
        cli.environment["PATRONVAULT_TOKEN"] = token
        return cli
    }

    @Test("a real-clock vault refuses PATRONVAULT_NOW with one line, exit 80, and records nothing", arguments: Backend.available)
    func refusedOnRealVault(_ backend: Backend) throws {
        var cli = try Self.realClockVault(backend)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RC1", "--name", "Real Clock", "--email", "rc@example.org"]).status == 0)
        let entriesBefore = try cli.count("SELECT count(*) FROM audit_entry")
        cli.environment["PATRONVAULT_NOW"] = "2099-01-01T00:00:00Z"
        let refused = try cli.run(["patron", "show", "RC1", "--purpose", "circulation"])
        #expect(refused.status == 80)
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(refused.stderr.contains("real clock"))
        #expect(refused.stdout.isEmpty)
        #expect(try cli.count("SELECT count(*) FROM audit_entry") == entriesBefore)
        // Audit times stayed on the real clock: nothing is dated in the future.
        cli.environment["PATRONVAULT_NOW"] = nil
        #expect(try cli.run(["patron", "show", "RC1", "--purpose", "circulation"]).status == 0)
        let latest = try cli.count("SELECT max(time) FROM audit_entry")
        #expect(Double(latest) / 1_000_000 <= Date().timeIntervalSince1970 + 60)
    }

    @Test("a lockout on a real-clock vault cannot be stepped past with PATRONVAULT_NOW", arguments: Backend.available)
    func lockoutHolds(_ backend: Backend) throws {
        var cli = try Self.realClockVault(backend)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "RC2", "--name", "Lock Real", "--email", "lr@example.org", "--pin-stdin"], stdin: "2468").status == 0)
        for _ in 1...5 {
            #expect(try cli.run(["me", "show", "--card", "RC2", "--pin-stdin"], stdin: "1111").status == 68)
        }
        #expect(try cli.run(["me", "show", "--card", "RC2", "--pin-stdin"], stdin: "2468").status == 69)
        cli.environment["PATRONVAULT_NOW"] = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        let stepped = try cli.run(["me", "show", "--card", "RC2", "--pin-stdin"], stdin: "2468")
        #expect(stepped.status == 80)
        #expect(!stepped.stdout.contains("Lock Real"))
        cli.environment["PATRONVAULT_NOW"] = nil
        #expect(try cli.run(["me", "show", "--card", "RC2", "--pin-stdin"], stdin: "2468").status == 69)
    }

    @Test("editing the key store cannot turn a real-clock vault into a test vault", arguments: Backend.available)
    func markCannotBeForged(_ backend: Backend) throws {
        var cli = try Self.realClockVault(backend)
        defer { cli.removeHome() }
        let test = try CLI.initialized(backend: backend)
        defer { test.removeHome() }
        // Copy a test vault's clock mark into the real vault's key store: it is sealed under the
        // other vault's master key, so it does not open here.
        let mark = try #require(try test.rows("SELECT value FROM key_meta WHERE name = 'clock'", in: .keys).first)
        _ = try cli.rows("INSERT INTO key_meta(name, value) VALUES ('clock', \(cli.blob(mark)))", in: .keys)
        cli.environment["PATRONVAULT_NOW"] = "2099-01-01T00:00:00Z"
        #expect(try cli.run(["staff", "list"]).status == 74)
        cli.environment["PATRONVAULT_NOW"] = nil
        #expect(try cli.run(["staff", "list"]).status == 74)
    }
}
