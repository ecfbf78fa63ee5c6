/// What became of a returned loan when its fee was settled.
public struct FeeSettlement: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        /// The patron keeps history: the loan is now part of it.
        case keptAsHistory = "kept-as-history"
        /// The patron discards history: the loan is held until the retention schedule's
        /// `held-loans` rule destroys it (never, if the schedule has no such rule).
        case heldUntilRetention = "held-until-retention"
    }

    public let itemBarcode: String
    /// In the currency's minor unit, as `LoanFee.amount`.
    public let amount: Int64
    public let outcome: Outcome
    /// The first day a retention run destroys the loan, when the schedule says.
    public let destroyedAfter: CalendarDay?
}

/// Encoded as `item`, `amount` (text with two decimals), `outcome` and `destroyedFrom`.
extension FeeSettlement: Codable {
    private enum CodingKeys: String, CodingKey {
        case item, amount, outcome, destroyedFrom
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(itemBarcode, forKey: .item)
        try container.encode(LoanFee.text(amount), forKey: .amount)
        try container.encode(outcome, forKey: .outcome)
        try container.encodeIfPresent(destroyedAfter, forKey: .destroyedFrom)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        itemBarcode = try container.decode(String.self, forKey: .item)
        guard let amount = try? LoanFee.amount(parsing: try container.decode(String.self, forKey: .amount)) else {
            throw DecodingError.dataCorruptedError(forKey: .amount, in: container, debugDescription: "not an amount such as 2.50")
        }
        self.amount = amount
        outcome = try container.decode(Outcome.self, forKey: .outcome)
        destroyedAfter = try container.decodeIfPresent(CalendarDay.self, forKey: .destroyedFrom)
    }
}
