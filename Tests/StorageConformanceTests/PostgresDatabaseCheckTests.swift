import Foundation
import PatronVaultCore
import PatronVaultCrypto
@testable import PatronVaultPostgres
import PostgresNIO
import Testing

/// What the PostgreSQL stores refuse before they touch a key: a database that is not theirs,
/// one of a newer schema, a read-only one, one that cannot be reached, and a URL with a password.
@Suite("PostgreSQL database checks", .enabled(if: PostgresTestServer.location != nil))
struct PostgresDatabaseCheckTests {
    @Test("A key database made in the records database's place is refused: the erasure rule needs two")
    func sameDatabaseRefused() throws {
        try withDatabase { location in
            let link = PostgresLink(location, name: "the records database")
            defer { link.close() }
            try link.withSession { session in
                try PostgresSchema.create(.records, tables: "CREATE TABLE patron (pseudonym bytea PRIMARY KEY)", vaultID: [1, 2, 3], in: session, location: location)
            }
            let error = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: true, vaultID: [1, 2, 3]) }
            #expect(error.message.contains("name the same database"))
            let opened = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: false, vaultID: [1, 2, 3]) }
            #expect(opened.message.contains("names the records database"))
        }
    }

    @Test("A key database of another vault, or a second vault in the same one, is refused")
    func otherVaultRefused() throws {
        try withDatabase { location in
            let store = try PostgresKeyStore.open(location, create: true, vaultID: [1, 1, 1])
            store.writer.close()
            let other = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: false, vaultID: [2, 2, 2]) }
            #expect(other.kind == .corruptVault && other.message.contains("another vault"))
            let again = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: true, vaultID: [1, 1, 1]) }
            #expect(again.kind == .alreadyInitialized)
            let reopened = try PostgresKeyStore.open(location, create: false, vaultID: [1, 1, 1])
            reopened.writer.close()
        }
    }

    @Test("A schema newer than this binary reads is refused, naming both versions")
    func newerSchemaRefused() throws {
        try withDatabase { location in
            let store = try PostgresKeyStore.open(location, create: true, vaultID: [7])
            try store.writer.withSession { session in _ = try session.execute("UPDATE patronvault_database SET schema_version = 99") }
            store.writer.close()
            let error = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: false, vaultID: [7]) }
            #expect(error.message.contains("schema version 99, newer than this PatronVault reads (2)"))
        }
    }

    @Test("A read-only database is refused for writing with a clear sentence")
    func readOnlyRefused() throws {
        try withDatabase { location in
            let store = try PostgresKeyStore.open(location, create: true, vaultID: [7])
            try store.writer.withSession { session in
                _ = try session.execute(PostgresQuery(unsafeSQL: "ALTER DATABASE \"\(location.database)\" SET default_transaction_read_only = on"))
            }
            store.writer.close()
            let error = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: false, vaultID: [7]) }
            #expect(error.kind == .storageFailure && error.message.contains("is read-only (a replica?); point the vault at the primary"))
        }
    }

    @Test("A server that is not there is one sentence naming where, without the password")
    func unreachable() throws {
        var location = try PostgresLocation(url: "postgres://pv@127.0.0.1:1/vault_keys")
        location.password = "not-to-be-shown"
        let error = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: false, vaultID: [7]) }
        #expect(error.message == "the key database at postgres://pv@127.0.0.1:1/vault_keys cannot be reached; nothing was written")
        #expect(!error.message.contains("not-to-be-shown"))
    }

    @Test("A wrong password is refused as a sign-in failure, not as a missing server")
    func wrongPassword() throws {
        var location = try #require(PostgresTestServer.location)
        location.password = "wrong"
        let error = try #require(throws: VaultError.self) { try PostgresKeyStore.open(location, create: false, vaultID: [7]) }
        #expect(error.message.contains("refused the sign-in"))
        #expect(!error.message.contains("wrong"))
    }

    @Test("URLs: a password is refused; sslmode defaults to TLS off the loopback; bad parts are named", arguments: [
        ("postgres://pv:secret@db.example/keys", "must not carry a password"),
        ("mysql://pv@db.example/keys", "must look like postgres://"),
        ("postgres://db.example/keys", "names no user"),
        ("postgres://pv@db.example/", "names no database"),
        ("postgres://pv@db.example/keys?sslmode=prefer", "sslmode must be disable or verify-full"),
        ("postgres://pv@db.example/keys?application=x", "unknown parameter application"),
    ])
    func urls(_ url: String, _ complaint: String) throws {
        let error = try #require(throws: VaultError.self) { try PostgresLocation(url: url) }
        #expect(error.message.contains(complaint))
        #expect(!error.message.contains("secret"))
        #expect(try PostgresLocation(url: "postgres://pv@db.example/keys").transportSecurity == .verifyFull)
        #expect(try PostgresLocation(url: "postgres://pv@127.0.0.1:5433/keys").transportSecurity == .disable)
        #expect(try PostgresLocation(url: "postgres://pv@localhost/keys?sslmode=verify-full").description == "postgres://pv@localhost:5432/keys")
    }

    @Test("The change mark counts committed transactions that changed a row, and nothing else")
    func changeMark() throws {
        try withDatabase { location in
            let link = PostgresLink(location, name: "the records database")
            defer { link.close() }
            try link.withSession { session in
                try PostgresSchema.create(.records, tables: PostgresSchema.recordsTables, vaultID: [4], in: session, location: location)
                let snapshot = { try PostgresRecordTransaction(session: session, auditState: nil).changeMark() }
                #expect(try snapshot() == 0)
                try PostgresRecordStore.writeTransaction(in: session) { transaction in
                    #expect(try transaction.changeMark() == 0)
                    _ = try transaction.pinAttempt(patron: PatronPseudonym.random())
                    #expect(try transaction.changeMark() == 0, "a read changes nothing")
                    try transaction.clearPINAttempts(patron: PatronPseudonym.random())
                    #expect(try transaction.changeMark() == 1, "the transaction's own change counts")
                }
                #expect(try snapshot() == 1)
                try PostgresRecordStore.writeTransaction(in: session) { _ in }
                #expect(try snapshot() == 1, "a transaction that changed nothing leaves the mark")
                struct Undone: Error {}
                #expect(throws: Undone.self) {
                    try PostgresRecordStore.writeTransaction(in: session) { transaction in
                        try transaction.clearPINAttempts(patron: PatronPseudonym.random())
                        throw Undone()
                    }
                }
                #expect(try snapshot() == 1, "a rolled-back change leaves the mark")
            }
        }
    }

    @Test("A version 1 records database is upgraded only while no other process holds the vault")
    func upgradeWaitsForOthers() throws {
        try withDatabase { location in
            let link = PostgresLink(location, name: "the records database")
            let other = PostgresLink(location, name: "the records database")
            defer {
                link.close()
                other.close()
            }
            let claim: Int64 = 4242
            try link.withSession { session in
                try PostgresSchema.create(.records, tables: PostgresSchema.recordsTables, vaultID: [5], in: session, location: location)
                try session.execute("ALTER TABLE audit_state DROP COLUMN change_mark")
                try session.execute("UPDATE patronvault_database SET schema_version = 1")
            }
            // Another process of the vault holds its shared claim for as long as it is connected.
            try other.withSession { session in _ = try session.query("SELECT pg_advisory_lock_shared(\(claim))") }
            let refused = try #require(throws: VaultError.self) {
                try link.withSession { session in try PostgresSchema.upgrade(.records, claim: claim, in: session, location: location) }
            }
            #expect(refused.kind == .conflict && refused.message.contains("while no other process has the vault open"))
            other.close()
            // The other process is gone once its server backend has exited and let go of the claim,
            // a moment after its connection closes.
            let deadline = ContinuousClock.now + .seconds(10)
            while try link.withSession({ session in
                try session.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = \(claim) AND pid <> pg_backend_pid()")[0]
                    .makeRandomAccess().int64(0)
            }) > 0, ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
            try link.withSession { session in
                try PostgresSchema.upgrade(.records, claim: claim, in: session, location: location)
                #expect(try session.query("SELECT schema_version FROM patronvault_database")[0].makeRandomAccess().int64(0) == PostgresSchema.version)
                #expect(try PostgresRecordTransaction(session: session, auditState: nil).changeMark() == 0)
            }
        }
    }

    private func withDatabase(_ body: (PostgresLocation) throws -> Void) throws {
        let server = try #require(PostgresTestServer.location)
        let name = "pv_check_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased())"
        try PostgresDatabases.create(name, on: server)
        defer { try? PostgresDatabases.drop(name, on: server) }
        try body(server.with(database: name))
    }
}
