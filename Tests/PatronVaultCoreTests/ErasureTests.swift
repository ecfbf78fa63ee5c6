import Foundation
import GRDB
import Testing
@testable import PatronVaultCore

/// Erasure's promise when the key store cannot be cleaned at once: the receipt says so, and the
/// next maintenance pass finishes it, leaving no copy of the patron's keys in `keys.db` or its WAL.
@Suite("Erasure with a held reader")
struct ErasureTests {
    @Test("a reader holding keys.db makes the receipt say the keys are not yet destroyed; the next maintenance pass finishes it")
    func heldReaderDelaysKeyDestruction() async throws {
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            try await vault.desk.registerPatron(
                VaultFixture.registration(card: "ER-1", name: "Erasable Person", history: .keep), pin: VaultFixture.pin("5150"), by: fixture.admin)
            _ = try await vault.desk.checkout(card: "ER-1", item: "ER-I1", title: "A Title", author: nil, due: nil, branch: nil, by: fixture.admin)
            _ = try await vault.desk.returnItem("ER-I1", by: fixture.admin)
            let patron = try await vault.signIn.patron(card: "ER-1", pin: VaultFixture.pin("5150"))
            let wrapped = try await fixture.database("keys.db").read { db in
                try Data.fetchAll(db, sql: "SELECT wrapped FROM patron_key") + Data.fetchAll(db, sql: "SELECT wrapped FROM record_key")
            }
            #expect(wrapped.count == 3)

            let reader = try ShreddingTests.heldReader(fixture)
            let receipt = try await vault.selfService.eraseMe(by: patron)
            #expect(!receipt.keysDestroyed)
            #expect(receipt.recordsDestroyed == 2 && receipt.historyDestroyed == 1)
            // Control: the held reader kept the journal, and the scan below reads real bytes: the
            // WAL still holds a copy of a destroyed key until a pass can truncate it.
            let journal = FileManager.default.contents(atPath: fixture.directory.appendingPathComponent("keys.db-wal").path) ?? Data()
            #expect(wrapped.contains { journal.range(of: $0) != nil })
            try reader.inDatabase { db in try db.commit() }
            try reader.close()

            let pass = await vault.maintenance.runOnce()
            #expect(pass.shredsComplete)
            #expect(try fixture.count("SELECT count(*) FROM pending_shred", in: "vault.db") == 0)
            #expect(try fixture.count("SELECT count(*) FROM patron_key", in: "keys.db") == 0)
            #expect(try fixture.count("SELECT count(*) FROM record_key", in: "keys.db") == 0)
            for name in ["keys.db", "keys.db-wal"] {
                guard let bytes = FileManager.default.contents(atPath: fixture.directory.appendingPathComponent(name).path) else { continue }
                for key in wrapped {
                    #expect(bytes.range(of: key) == nil, "\(name) still holds a wrapped key of the erased patron")
                }
            }
        }
    }
}
