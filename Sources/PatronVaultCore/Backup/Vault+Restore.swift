import Foundation
import GRDB
import PatronVaultPolicy

/// What a restore brought back: the backup's date, how many patrons' records can be opened, and
/// how many cannot because their keys were destroyed (erased or purged after the backup was
/// taken, when the key store came from elsewhere): unrecoverable by design, not an error.
public struct RestoreReport: Sendable, Codable, Equatable {
    public let restoredTo: String
    public let backupCreatedAt: String
    /// `backup`, or `other` when the key store came from another place (the current vault).
    public let keys: String
    public let patrons: Int
    public let unrecoverablePatrons: Int
    public let auditEntries: Int64
}

extension Vault {
    /// Restores a backup into a new vault folder (it must not exist, or be empty). The records
    /// come from the backup; the key store from the backup too, or from `keysFrom` (a `keys.db`
    /// file, a vault folder, or another backup folder), such as the current vault's, which has
    /// none of the keys destroyed since. Every file is checked against the signed manifest,
    /// the manifest's signature against the restored vault's own audit key, and the audit trail
    /// verified, all in a staging folder before it is moved into place, so a failed restore
    /// leaves nothing behind.
    public static func restore(
        backup: URL, keysFrom: URL? = nil, into target: URL, masterKey source: MasterKeySource, policies: PolicySet,
        configuration: VaultConfiguration = VaultConfiguration()
    ) async throws(VaultError) -> RestoreReport {
        let target = target.standardizedFileURL
        try BackupFolder.checkNew(target, what: "restore")
        let (manifest, manifestBytes, signature) = try BackupFolder.readManifest(in: backup)
        let staging = try BackupFolder.staging(beside: target)
        do {
            try Self.copyChecked(BackupManifest.recordsFile, from: backup, manifest: manifest, to: staging.appendingPathComponent("vault.db"))
            if let keysFrom {
                try Self.copyLive(keysFile(in: keysFrom), to: staging.appendingPathComponent("keys.db"))
            } else {
                try Self.copyChecked(BackupManifest.keysFile, from: backup, manifest: manifest, to: staging.appendingPathComponent("keys.db"))
            }
            for folder in ["records", "keys"] { try FileManager.default.removeItem(at: staging.appendingPathComponent(folder)) }
            let vault = try await Vault.open(at: staging, masterKey: source, policies: policies, configuration: configuration)
            let report: RestoreReport
            do {
                // The audit key now, or one a signing-key rotation retired after the backup was taken.
                let ring = vault.gate.ring
                let created = try? Date(manifest.createdAt, strategy: .iso8601)
                // (The manifest's time is to the second, so a backup in the rotation's last second counts.)
                let retired = ring.retiredSigningKeys.pairs.filter { pair in created.map { $0 <= pair.retiredAt.addingTimeInterval(1) } ?? false }
                let signers = [vault.gate.trail.verifyingKey] + retired.map(\.auditKey)
                guard signers.contains(where: { $0.hex == manifest.auditKey && $0.isValidSignature(signature, for: manifestBytes) }) else {
                    throw VaultError(.integrityFailure, "the backup's manifest is not signed by this vault's audit key: it was edited, or belongs to another vault")
                }
                let verification = try await vault.gate.verifyTrail()
                guard verification.isIntact else {
                    throw VaultError(.integrityFailure, "the restored audit trail does not verify: \(verification.problem ?? "unknown problem")")
                }
                let keys = vault.gate.storage.keys
                let (patrons, unrecoverable) = try await vault.gate.storage.records.holdingWriteLock { inventory in
                    let owners = try inventory.owners().patrons
                    return (owners.count, owners.subtracting(try keys.owners().patrons).count)
                }
                report = RestoreReport(
                    restoredTo: target.path, backupCreatedAt: manifest.createdAt, keys: keysFrom == nil ? "backup" : "other",
                    patrons: patrons, unrecoverablePatrons: unrecoverable, auditEntries: verification.entryCount)
            } catch {
                await vault.close()
                throw error
            }
            await vault.close()
            try BackupFolder.finish(staging, as: target)
            return report
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error as? VaultError ?? VaultError.storage("the backup could not be restored into \(target.path)")
        }
    }

    /// Copies a backup file, then checks the copy's size and SHA-256 against the manifest: what
    /// is restored is what was checked, even if the backup's file changes meanwhile.
    private static func copyChecked(_ name: String, from backup: URL, manifest: BackupManifest, to destination: URL) throws {
        let source = backup.appendingPathComponent(name)
        guard let expected = manifest.file(name), FileManager.default.fileExists(atPath: source.path) else {
            throw VaultError(.notFound, "the backup has no \(name)")
        }
        try FileManager.default.copyItem(at: source, to: destination)
        chmod(destination.path, 0o600)
        guard try BackupFolder.describe(destination, as: name) == expected else {
            throw VaultError(.integrityFailure, "the backup's \(name) does not match its signed manifest (edited, truncated or swapped)")
        }
    }

    /// A key store that may be in use (the current vault's), copied through SQLite's backup so
    /// the copy is consistent even while a daemon writes to it.
    private static func copyLive(_ source: URL, to destination: URL) throws {
        var configuration = Configuration()
        configuration.readonly = true
        let live = try DatabaseQueue(path: source.path, configuration: configuration)
        let copy = try DatabaseQueue(path: destination.path)
        try live.backup(to: copy)
        try copy.close()
        try live.close()
        chmod(destination.path, 0o600)
    }

    /// `keys.db` itself, or the one in a vault folder or a backup folder.
    private static func keysFile(in place: URL) throws -> URL {
        for candidate in [place, place.appendingPathComponent("keys.db"), place.appendingPathComponent(BackupManifest.keysFile)] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue { return candidate }
        }
        throw VaultError(.notFound, "no key store (keys.db) at \(place.path)")
    }
}
