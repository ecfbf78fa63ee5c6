import Foundation
import GRDB
import Testing

/// A vault written by the release before record sets (commit 3945050's `patronvault`, kept in
/// `Tests/Fixtures/legacy-vault`): patron LG1 keeps history (one open loan, one returned), LG2
/// discards it and has a destroying return whose shred was left queued, as a crash between the
/// two files leaves it. Its master key and admin token exist only for this test.
@Suite("Upgrading a vault made before record sets")
struct LegacyVaultTests {
    static let token = "pvt_RhsSKiFpOvNrMKyKZxvwdn9qMKsSfNUDV2jw5WnX0rE"

    static var fixture: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/legacy-vault", isDirectory: true)
    }

    static func legacyVault() throws -> CLI {
        var cli = try CLI()
        try FileManager.default.copyItem(at: fixture, to: cli.vault)
        for name in try FileManager.default.contentsOfDirectory(atPath: cli.vault.path) {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: cli.vault.appendingPathComponent(name).path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: cli.vault.path)
        cli.environment["PATRONVAULT_TOKEN"] = token
        return cli
    }

    @Test("the first open gives every patron a record set, finishes the queued shred, and every read still works")
    func upgradeKeepsEverything() throws {
        let cli = try Self.legacyVault()
        defer { cli.removeHome() }
        let keys = try cli.database("keys.db")
        #expect(try keys.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record_key") } == 5)
        try keys.close()

        let shown = try cli.run(["patron", "show", "LG1", "--purpose", "patron-request"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("Legacy Open Title"))
        let history = try cli.run(["me", "history", "--card", "LG1", "--pin-stdin"], stdin: "2468")
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.contains("Legacy History Title"))
        let other = try cli.run(["me", "show", "--card", "LG2", "--pin-stdin"], stdin: "1357")
        #expect(other.status == 0, "\(other.stderr)")
        #expect(!other.stdout.contains("Legacy Discarded Title"))

        let upgraded = try cli.database("keys.db")
        defer { try? upgraded.close() }
        let counts = try upgraded.read { db in
            [
                try Int.fetchOne(db, sql: "SELECT count(*) FROM record_key"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM record_key WHERE settled = 1 AND length(element) = 32"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM patron_key WHERE length(record_set) = 32"),
            ]
        }
        // The queued shred's key is gone; the four live records' keys are settled.
        #expect(counts == [4, 4, 2])
        #expect(try cli.database("vault.db").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM pending_shred") } == 0)
    }

    @Test("after the upgrade a hidden record is caught, and the upgrade does not run again")
    func upgradedVaultCatchesEdits() throws {
        let cli = try Self.legacyVault()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "show", "LG1", "--purpose", "circulation"]).status == 0)
        let sets = try cli.database("keys.db").read { try Data.fetchAll($0, sql: "SELECT record_set FROM patron_key ORDER BY pseudonym") }
        try cli.database("vault.db").write { db in
            try db.execute(sql: "UPDATE record SET state = 1 WHERE kind = 2 AND state = 0")
        }
        let shown = try cli.run(["patron", "show", "LG1", "--purpose", "patron-request"])
        #expect(shown.status == 74)
        #expect(!shown.stdout.contains("Legacy Open Title"))
        #expect(try cli.database("keys.db").read { try Data.fetchAll($0, sql: "SELECT record_set FROM patron_key ORDER BY pseudonym") } == sets)
    }
}
