import Foundation
import GRDB
import PatronVaultCrypto
@testable import PatronVaultAudit

/// A vault-like database file in a fresh temporary directory, with the audit schema and keys.
final class AuditFixture {
    static let base = Date(timeIntervalSince1970: 1_750_000_000)

    let directory: URL
    let queue: DatabaseQueue
    let trail: AuditTrail
    let macKey: SymmetricKey

    init(checkpointInterval: Int = 1000) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("patronvault-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        macKey = try SymmetricKey.random()
        trail = AuditTrail(signingKey: try SigningKey(seed: try SymmetricKey.random()), macKey: macKey, checkpointInterval: checkpointInterval)
        queue = try Self.openQueue(at: directory.appendingPathComponent("vault.db").path)
        try queue.write { try AuditTrail.createSchema($0) }
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    var databasePath: String { directory.appendingPathComponent("vault.db").path }

    /// A second connection to the same file, as another process would open it.
    static func openQueue(at path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
        }
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    static func pseudonym(_ index: Int) -> String {
        let hex = String(index, radix: 16)
        return String(repeating: "0", count: 32 - hex.count) + hex
    }

    static func draft(
        _ index: Int,
        principalID: String = "staff-7",
        action: String = "patron.read",
        patron: String? = nil,
        decision: AuditDecision = .permit,
        keyVersion: Int = 1,
        time: Date? = nil
    ) -> AuditDraft {
        AuditDraft(
            time: time ?? base.addingTimeInterval(Double(index)),
            principalKind: "staff", principalID: principalID, principalRole: "circulation",
            action: action, resourceKind: "patron", patron: patron ?? pseudonym(index % 17),
            purpose: index % 3 == 0 ? nil : "hold pickup", decision: decision,
            ruleIDs: decision == .permit ? ["staff-read", "purpose-stated"] : ["deny-default"],
            policyDigest: "9f2c0e", frontEnd: "cli", keyVersion: keyVersion)
    }

    func append(_ count: Int) throws {
        try queue.write { db in
            for index in 1...count {
                try trail.append(Self.draft(index), in: db)
            }
        }
    }

    func verify(withMAC: Bool = true, against external: AuditCheckpoint? = nil) throws -> AuditVerification {
        let verifier = AuditVerifier(verifyingKey: trail.verifyingKey, macKey: withMAC ? macKey : nil)
        return try queue.read { try verifier.verify($0, against: external) }
    }

    func execute(_ sql: String, _ arguments: StatementArguments = []) throws {
        try queue.writeWithoutTransaction { try $0.execute(sql: sql, arguments: arguments) }
    }

    /// What an attacker without keys can do after tampering: recompute the plain hashes and make
    /// `audit_state` agree with the rows, copying the last stored MAC.
    func forgeConsistentState() throws {
        try queue.write { db in
            var frontier = MerkleFrontier()
            var encoder = AuditLeafEncoder()
            var lastTime = Int64.min
            for entry in try AuditQuery().entries(in: db) {
                let time = try entry.time.auditMicroseconds()
                let draft = AuditDraft(
                    time: entry.time, principalKind: entry.principalKind, principalID: entry.principalID,
                    principalRole: entry.principalRole, action: entry.action, resourceKind: entry.resourceKind,
                    patron: entry.patron, purpose: entry.purpose, decision: entry.decision, ruleIDs: entry.ruleIDs,
                    policyDigest: entry.policyDigest, frontEnd: entry.frontEnd, keyVersion: entry.keyVersion)
                encoder.encode(draft, sequence: entry.sequence, time: time)
                frontier.append(leaf: encoder.leafHash())
                lastTime = time
            }
            let lastMAC = try Data.fetchOne(db, sql: "SELECT mac FROM audit_entry ORDER BY seq DESC LIMIT 1") ?? Data(count: 32)
            try db.execute(
                sql: "UPDATE audit_state SET size = ?, frontier = ?, last_mac = ?, last_time = ?",
                arguments: [frontier.size, Data(frontier.hashes), lastMAC, lastTime])
        }
    }
}
