import Foundation
import GRDB
import PatronVaultCore
import PatronVaultCrypto

/// Issue 14's limit: a master key rotation over 1,000,000 patron keys in ≤ 30 s on this machine's
/// 2 cores (it rewraps keys, never records), against a plain SQLite rewrite of the same number of
/// 72-byte blobs in batches of the same size, with no cryptography, measured in the same run.
/// `patronvault-bench --rotation [--rotation-patrons N]`.
enum RotationBenchmark {
    static func run(patrons: Int, policies: URL, in directory: URL) async throws {
        let library = SyntheticLibrary(patrons: patrons, loansPerPatron: 0)
        var configuration = VaultConfiguration()
        configuration.clock = FixedClock(library.start)
        let folder = directory.appendingPathComponent("rotation-vault")
        let oldKey = directory.appendingPathComponent("rotation-1.key")
        let newKey = directory.appendingPathComponent("rotation-2.key")
        let policySet = try Vault.loadPolicies(from: policies)
        let (vault, admin) = try await Vault.initialize(
            at: folder, masterKey: .keyFile(oldKey), adminName: "bench", policies: policySet, configuration: configuration)
        let staff = try await vault.signIn.staff(token: admin.token)
        let build = try await seconds {
            for start in stride(from: 0, to: patrons, by: 5_000) {
                let batch = (start..<min(patrons, start + 5_000)).map { PatronImport(registration: library.registration($0), loans: []) }
                _ = try await vault.desk.importPatrons(batch, by: staff)
            }
        }
        await vault.close()
        print("rotation: \(patrons) patrons imported in \(String(format: "%.1f", build)) s (setup, not measured)")

        var report: KeyRotationReport?
        let rotation = try await seconds {
            report = try await Vault.rotateMasterKey(
                at: folder, from: .keyFile(oldKey), to: .keyFile(newKey), policies: policySet, configuration: configuration,
                authorizing: { try await $0.signIn.staff(token: admin.token) })
        }
        guard report?.patronKeysRewrapped == patrons else {
            throw BenchmarkFailure(message: "the rotation rewrapped \(report?.patronKeysRewrapped ?? 0) of \(patrons) patron keys")
        }
        // The rotated vault opens with the new key and reads a patron.
        let reopened = try await Vault.open(at: folder, masterKey: .keyFile(newKey), policies: policySet, configuration: configuration)
        let reader = try await reopened.signIn.staff(token: admin.token)
        _ = try await reopened.desk.patronProfile(card: library.registration(patrons / 2).cardBarcode, purpose: "circulation", by: reader)
        await reopened.close()

        let plain = try plainRewrite(count: patrons, batch: Vault.rotationBatchSize, in: directory)
        let ratio = plain / rotation
        print("rotation of \(patrons) patron keys (open, decide, rewrap in batches of \(Vault.rotationBatchSize), finish): "
            + "\(String(format: "%.2f", rotation)) s, \(rate(patrons, rotation))/s; plain SQLite rewrite of as many blobs, no crypto: "
            + "\(String(format: "%.2f", plain)) s (\(String(format: "%.2f", ratio))×); limit ≤ 30 s")
    }

    /// The same number of 72-byte blobs in a plain table keyed as `patron_key` is, each rewritten
    /// with new bytes, a batch of rows per transaction, walked by rowid as the rotation walks.
    static func plainRewrite(count: Int, batch: Int, in directory: URL) throws -> Double {
        let queue = try PlainBaseline.open("plain-rotation.db", in: directory)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE patron_key (pseudonym BLOB NOT NULL UNIQUE, kek_version INTEGER NOT NULL, wrapped BLOB NOT NULL)")
            let insert = try db.makeStatement(sql: "INSERT INTO patron_key VALUES (?, 1, ?)")
            for _ in 0..<count { try insert.execute(arguments: [Data(SecureRandom.bytes(32)), Data(SecureRandom.bytes(72))]) }
        }
        let fresh = Data(SecureRandom.bytes(72))
        return try seconds {
            var cursor: Int64 = 0
            while true {
                let last: Int64? = try queue.write { db in
                    let rows = try Row.fetchAll(db, sql: "SELECT rowid, wrapped FROM patron_key WHERE rowid > ? ORDER BY rowid LIMIT ?", arguments: [cursor, batch])
                    let update = try db.makeStatement(sql: "UPDATE patron_key SET kek_version = 2, wrapped = ? WHERE rowid = ?")
                    for row in rows { try update.execute(arguments: [fresh, row[0] as Int64]) }
                    return rows.last?[0]
                }
                guard let last else { break }
                cursor = last
            }
            try queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
    }
}
