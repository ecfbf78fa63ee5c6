extension CirculationDesk {
    /// A patron's export prepared at the desk, at the patron's request: the patron types their
    /// PIN, which is checked as a sign-in is (a wrong one counts toward the lockout), and the
    /// bundle is sealed under a key derived from it. The staff member gets a file only that PIN
    /// opens; the request, its purpose and the patron are recorded. The shipped rules allow it
    /// only with the purpose `patron-request`.
    public func sealedExport(card: String, pin: [UInt8], purpose: String?, by principal: Principal) async throws(VaultError) -> [UInt8] {
        let purpose = try FieldRules.optionalText(purpose, field: "purpose")
        let request = AccessRequest(.exportSeal, .export, purpose: purpose)
        // Refused before the PIN is tried, so a staff member the rules refuse cannot use this to
        // test PINs; the refusal is recorded.
        if !gate.decide(principal, request, time: gate.clock.now()).decision.isPermitted {
            try await gate.write(principal, [request], readsOnly: true) { _ in }
        }
        let patron = try await SignIn(gate: gate, configuration: configuration, derivations: derivations).patron(card: card, pin: pin)
        guard let own = patron.pseudonym else { throw VaultError.integrity }
        var about = request
        about.patron = own
        let data = try await gate.write(principal, [about], readsOnly: true, readsTrail: true) { tx in try tx.exportData(of: tx.ownRow(own)) }
        let bundle = try await ExportBundle.make(data, signingKey: gate.ring.exportSigningKey)
        return try SealedExport.seal(bundle, pin: pin, limits: configuration.passphraseLimits)
    }
}
