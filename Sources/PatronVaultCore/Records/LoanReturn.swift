/// What happened to a loan record when its item came back.
public struct LoanReturn: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        /// Sealed and kept as the patron's reading history (they opted in).
        case keptAsHistory = "kept-as-history"
        /// Sealed and held because a fee is owed on it, whatever the patron's history choice,
        /// until the fee is settled.
        case heldForFee = "held-for-fee"
        /// Destroyed: row deleted and record key shredded; only the anonymous statistic remains.
        case destroyed
        /// Row deleted and the key's deletion queued, but not yet complete (another process held
        /// the key store's WAL, or it failed): it is finished by the next operation or open.
        case destroyedShredPending = "destroyed-shred-pending"
    }

    public let itemBarcode: String
    public let outcome: Outcome
}

/// Encoded as its raw value (`kept-as-history`, `held-for-fee`, `destroyed`, `destroyed-shred-pending`), which
/// scripts match on.
extension LoanReturn.Outcome: Codable {}

/// Encoded as `item` and `outcome`, the keys front ends share.
extension LoanReturn: Codable {
    private enum CodingKeys: String, CodingKey {
        case itemBarcode = "item"
        case outcome
    }
}
