extension CirculationDesk {
    /// Erases a patron's account on their request at the desk (or, later, under the retention
    /// schedule), as `PatronSelfService.eraseMe` does; the shipped rules allow it to admins only.
    public func erasePatron(card: String, by principal: Principal) async throws(VaultError) -> ErasureReceipt {
        let card = try FieldRules.barcode(card, field: "card barcode")
        let ring = gate.ring
        let erased = try await gate.write(principal, [AccessRequest(.patronErase, .registration)], subject: .card(card)) { tx in
            let patron = try tx.patron(card: card, keys: ring)
            try tx.authorize(about: patron.pseudonym)
            let erasure = try tx.erase(patron)
            return ErasedAccount(
                patron: patron.pseudonym, time: tx.time, erasure: erasure,
                earlierEntries: try tx.records.auditEntries(.concerning(patron: patron.pseudonym.description)).count)
        }
        return await gate.finishErasure(erased)
    }
}
