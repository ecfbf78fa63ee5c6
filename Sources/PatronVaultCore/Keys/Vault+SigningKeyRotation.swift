import Foundation
import PatronVaultCrypto
import PatronVaultPolicy

/// What a signing-key rotation did: the keys retired and the keys now in use (public halves).
public struct SigningKeyRotationReport: Sendable, Codable, Equatable {
    public let retiredAuditKey: String
    public let retiredExportKey: String
    public let auditKey: String
    public let exportKey: String
    /// The size of the trail at the last checkpoint the retired audit key signed.
    public let lastCheckpointSize: Int64
    public let retiredAt: String
}

extension Vault {
    /// Replaces the audit signing key and the export key (both come from one seed) with new
    /// random ones. The retired key first signs a checkpoint of the trail as it stands, then its
    /// public half, and the export key's, are kept beside the new seed with their retirement
    /// time, MACed, so checkpoints, backup manifests, exports and receipts signed before still
    /// verify. A retired audit key verifies only checkpoints dated up to its retirement (the
    /// trail orders them). A retired export key verifies any bundle it signed: a bundle's date is
    /// its signer's word, so a date limit would not stop a holder of a leaked retired key, who
    /// would backdate; rotate when a key may have leaked, and name the key to trust
    /// (`--export-key`) when that matters.
    ///
    /// The folder must be open nowhere else (a daemon would go on signing with the old keys).
    /// The audit MAC key is kept: the trail's chain is not rewritten. Decided and recorded as
    /// `keys.manage`.
    public static func rotateSigningKeys(
        at directory: URL, masterKey: MasterKeySource, policies: PolicySet, configuration: VaultConfiguration = VaultConfiguration(),
        authorizing principal: (Vault) async throws -> Principal
    ) async throws(VaultError) -> SigningKeyRotationReport {
        try await rotateSigningKeys(
            at: directory, masterKey: masterKey, policies: policies, configuration: configuration, storage: .embedded, authorizing: principal)
    }

    /// The same for a vault whose stores are elsewhere (PostgreSQL).
    package static func rotateSigningKeys(
        at directory: URL, masterKey: MasterKeySource, policies: PolicySet, configuration: VaultConfiguration = VaultConfiguration(),
        storage: VaultStorageSource, authorizing principal: (Vault) async throws -> Principal
    ) async throws(VaultError) -> SigningKeyRotationReport {
        let vault = try await openAlone(at: directory, masterKey: masterKey, policies: policies, configuration: configuration, storage: storage)
        do {
            let gate = vault.gate
            let ring = gate.ring
            let checkpoint = try await gate.write(try await principal(vault), [AccessRequest(.keysManage, .keys)]) { tx in
                try tx.recordAll(required: true)
                return try tx.records.signAuditCheckpoint(tx.defaultTrail, at: tx.time)
            }
            let seed: SymmetricKey
            let newAudit: SigningKey
            let newExport: SigningKey
            do {
                seed = try SymmetricKey.random()
                newAudit = try SigningKey(seed: seed)
                newExport = try SigningKey(seed: seed.deriveSubkey(id: 1, context: "pvexport"))
            } catch {
                throw KeySlotPool.secureMemoryFailure
            }
            let retiredAt = max(checkpoint.time, gate.clock.now())
            let pair = RetiredSigningKeys.Pair(auditKey: ring.auditSigningKey.publicKey, exportKey: ring.exportSigningKey.publicKey, retiredAt: retiredAt)
            let stored = ring.retiredSigningKeys.adding(pair, macKey: ring.auditMACKey).stored
            try gate.storage.keys.replaceSystemKey(
                name: KeyRing.auditSeedName, kekVersion: ring.kekVersion,
                wrapped: ring.kek.wrap(seed, authenticating: RecordAssociatedData.systemKey(name: KeyRing.auditSeedName, kekVersion: ring.kekVersion)),
                setting: [RetiredSigningKeys.metadataName: stored])
            await vault.close()
            return SigningKeyRotationReport(
                retiredAuditKey: pair.auditKey.hex, retiredExportKey: pair.exportKey.hex, auditKey: newAudit.publicKey.hex, exportKey: newExport.publicKey.hex,
                lastCheckpointSize: checkpoint.size, retiredAt: retiredAt.iso8601Text)
        } catch {
            await vault.close()
            throw Gate.vaultError(error)
        }
    }

    /// Every export key whose signatures this vault vouches for: the current one first, then
    /// those retired by rotations (newest first). Public, so reading them needs no principal.
    public var exportVerifyingKeys: [VerifyingKey] {
        [exportVerifyingKey] + gate.ring.retiredSigningKeys.pairs.reversed().map(\.exportKey)
    }
}
