import Foundation
import GRDB
import Testing

/// Staff rows say whose token opens which role. Each edit below, on a fresh vault, tries to
/// gain or keep access by editing `vault.db`; each must be refused as an integrity failure.
@Suite("Edits to staff accounts")
struct StaffTamperTests {
    /// A vault with a clerk (role staff) beside the admin; returns the clerk's token.
    static func vaultWithClerk() throws -> (CLI, String) {
        let cli = try CLI.initialized()
        let added = try cli.run(["staff", "add", "clerk", "--role", "staff", "--json"])
        guard added.status == 0, let token = added.json["token"] as? String else { throw CLIFailure(message: "staff add failed: \(added.stderr)") }
        return (cli, token)
    }

    static func edit(_ cli: CLI, _ sql: String) throws {
        try cli.database("vault.db").write { db in
            try db.execute(sql: sql)
            #expect(db.changesCount >= 1)
        }
    }

    @Test("a clerk's role raised to admin: the clerk's token and the admin's listing are refused")
    func roleRaised() throws {
        let (cli, clerk) = try Self.vaultWithClerk()
        defer { cli.removeHome() }
        try Self.edit(cli, "UPDATE staff SET role = 'admin' WHERE name = 'clerk'")
        #expect(try cli.run(["staff", "list"], env: ["PATRONVAULT_TOKEN": clerk]).status == 74)
        #expect(try cli.run(["staff", "list"]).status == 74)
    }

    @Test("an unknown role is refused, not read as staff")
    func unknownRole() throws {
        let (cli, clerk) = try Self.vaultWithClerk()
        defer { cli.removeHome() }
        try Self.edit(cli, "UPDATE staff SET role = 'superuser' WHERE name = 'clerk'")
        #expect(try cli.run(["patron", "find", "--name", "Nobody", "--purpose", "circulation"], env: ["PATRONVAULT_TOKEN": clerk]).status == 74)
    }

    @Test("the admin's and the clerk's token hashes swapped: the clerk's token does not open the admin account")
    func tokenHashesSwapped() throws {
        let (cli, clerk) = try Self.vaultWithClerk()
        defer { cli.removeHome() }
        try Self.edit(cli, """
            CREATE TEMP TABLE h AS SELECT name, token_hash FROM staff;
            UPDATE staff SET token_hash = x'00' WHERE name = 'admin';
            UPDATE staff SET token_hash = (SELECT token_hash FROM h WHERE name = 'admin') WHERE name = 'clerk';
            UPDATE staff SET token_hash = (SELECT token_hash FROM h WHERE name = 'clerk') WHERE name = 'admin'
            """)
        let result = try cli.run(["staff", "add", "mallory", "--role", "admin"], env: ["PATRONVAULT_TOKEN": clerk])
        #expect(result.status == 74)
        #expect(!result.stdout.contains("pvt_"))
    }

    @Test("an account added by hand with a known token is refused")
    func handAddedAccount() throws {
        let (cli, clerk) = try Self.vaultWithClerk()
        defer { cli.removeHome() }
        try Self.edit(cli, """
            CREATE TEMP TABLE c AS SELECT * FROM staff WHERE name = 'clerk';
            DELETE FROM staff WHERE name = 'clerk';
            INSERT INTO staff(id, name, role, token_hash, created_at) SELECT 'stf-forged', 'forged', 'admin', token_hash, created_at FROM c
            """)
        #expect(try cli.run(["staff", "list"], env: ["PATRONVAULT_TOKEN": clerk]).status == 74)
    }

    @Test("a revoked account copied back as active from an earlier copy is refused, and so is clearing revoked_at")
    func revocationRolledBack() throws {
        let (cli, clerk) = try Self.vaultWithClerk()
        defer { cli.removeHome() }
        let earlier = cli.home.appendingPathComponent("earlier.db")
        try FileManager.default.copyItem(at: cli.vault.appendingPathComponent("vault.db"), to: earlier)
        #expect(try cli.run(["staff", "revoke", "clerk"]).status == 0)
        #expect(try cli.run(["staff", "list"], env: ["PATRONVAULT_TOKEN": clerk]).status == 68)
        try cli.database("vault.db").inDatabase { db in
            try db.execute(sql: "ATTACH DATABASE ? AS earlier", arguments: [earlier.path])
            try db.execute(sql: "UPDATE staff SET revoked_at = (SELECT e.revoked_at FROM earlier.staff e WHERE e.id = staff.id) WHERE name = 'clerk'")
            #expect(db.changesCount == 1)
        }
        #expect(try cli.run(["staff", "list"], env: ["PATRONVAULT_TOKEN": clerk]).status == 74)
    }

    @Test("a revocation whose seal did not follow (a crash between the two) still refuses the token, and the listing shows it revoked")
    func revocationBeforeItsSeal() throws {
        let (cli, clerk) = try Self.vaultWithClerk()
        defer { cli.removeHome() }
        let earlierKeys = cli.home.appendingPathComponent("earlier-keys.db")
        try FileManager.default.copyItem(at: cli.vault.appendingPathComponent("keys.db"), to: earlierKeys)
        #expect(try cli.run(["staff", "revoke", "clerk"]).status == 0)
        try cli.database("keys.db").inDatabase { db in
            try db.execute(sql: "ATTACH DATABASE ? AS earlier", arguments: [earlierKeys.path])
            try db.execute(sql: "UPDATE staff_seal SET tag = (SELECT e.tag FROM earlier.staff_seal e WHERE e.id = staff_seal.id)")
        }
        #expect(try cli.run(["staff", "list"], env: ["PATRONVAULT_TOKEN": clerk]).status == 68)
        let listed = try cli.run(["staff", "list", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("\"revoked\""))
        // That open sealed the revocation: clearing revoked_at now no longer brings the token back.
        try Self.edit(cli, "UPDATE staff SET revoked_at = NULL WHERE name = 'clerk'")
        #expect(try cli.run(["staff", "list"], env: ["PATRONVAULT_TOKEN": clerk]).status == 74)
    }

    @Test("a renamed account is refused in the admin's listing and never shown to a patron under the new name")
    func renamed() throws {
        let (cli, clerk) = try Self.vaultWithClerk()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "ST1", "--name", "Sam Staffseen", "--email", "sam@example.org", "--pin-stdin"], stdin: "2468").status == 0)
        #expect(try cli.run(["patron", "show", "ST1", "--purpose", "circulation"], env: ["PATRONVAULT_TOKEN": clerk]).status == 0)
        try Self.edit(cli, "UPDATE staff SET name = 'someone-else' WHERE name = 'clerk'")
        #expect(try cli.run(["staff", "list"]).status == 74)
        let accesses = try cli.run(["me", "accesses", "--card", "ST1", "--pin-stdin"], stdin: "2468")
        #expect(accesses.status == 74)
        #expect(!accesses.stdout.contains("someone-else"))
    }
}
