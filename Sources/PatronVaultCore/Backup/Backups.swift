import Foundation
import PatronVaultCrypto

/// Backups an admin takes while the vault serves: the record store and the key store, both pinned
/// as committed under the record store's write lock so no change lands between the two (SQLite's
/// online backup copies them there; on PostgreSQL each is a snapshot written out after the lock
/// is released), each into its own folder, with a manifest signed by the vault's audit key. Taking one is
/// decided and recorded like every access, before the copy, so the backup holds its own entry.
public struct Backups: Sendable {
    let gate: Gate

    /// Writes a new backup folder (it must not exist, or be empty): `records/vault.db`,
    /// `keys/keys.db`, `manifest.json` and `manifest.sig`, files 0600 and folders 0700. It is
    /// written beside the target and renamed into place, so a failure leaves nothing half-written.
    public func create(in directory: URL, by principal: Principal) async throws(VaultError) -> BackupManifest {
        let target = directory.standardizedFileURL
        try BackupFolder.checkNew(target, what: "backup")
        try await gate.write(principal, [AccessRequest(.keysManage, .keys)], readsOnly: true) { _ in }
        let staging = try BackupFolder.staging(beside: target)
        do {
            let records = staging.appendingPathComponent(BackupManifest.recordsFile).path
            let keysPath = staging.appendingPathComponent(BackupManifest.keysFile).path
            let keys = gate.storage.keys
            let snapshots = try await gate.storage.records.holdingWriteLock { inventory in
                let recordsSnapshot = try inventory.backupSnapshot(to: records)
                do {
                    return [recordsSnapshot, try keys.backupSnapshot(to: keysPath)]
                } catch {
                    recordsSnapshot.discard()
                    throw error
                }
            }
            for (index, snapshot) in snapshots.enumerated() {
                do {
                    try await snapshot.write()
                } catch {
                    for later in snapshots.dropFirst(index + 1) { later.discard() }
                    throw error
                }
            }
            let manifest = BackupManifest(
                format: BackupManifest.format, createdAt: gate.clock.now().iso8601Text,
                files: try [BackupManifest.recordsFile, BackupManifest.keysFile].map { name in
                    let file = staging.appendingPathComponent(name)
                    chmod(file.path, 0o600)
                    return try BackupFolder.describe(file, as: name)
                },
                kekVersion: gate.ring.kekVersion, auditKey: gate.trail.verifyingKey.hex)
            try BackupFolder.sign(manifest, with: gate.ring.auditSigningKey, in: staging)
            try BackupFolder.finish(staging, as: target)
            return manifest
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error as? VaultError ?? VaultError.storage("the backup could not be written to \(target.path)")
        }
    }
}
