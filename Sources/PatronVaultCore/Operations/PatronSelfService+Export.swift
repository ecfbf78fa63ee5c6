extension PatronSelfService {
    /// Everything the vault holds about the signed-in patron, as a signed bundle they can read,
    /// print and check with the vault's public export key. Recorded like every access; the
    /// bundle's audit section ends with the entries before this export.
    public func exportMyData(by principal: Principal) async throws(VaultError) -> ExportBundle {
        let own = try Self.identity(principal, doing: "export their own data")
        let data = try await gate.write(principal, [AccessRequest(.exportRead, .export, patron: own)], readsOnly: true, readsTrail: true) { tx in
            try tx.exportData(of: tx.ownRow(own))
        }
        return try await ExportBundle.make(data, signingKey: gate.ring.exportSigningKey)
    }
}
