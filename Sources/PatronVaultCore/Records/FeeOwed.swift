/// A fee still owed on a returned loan, as the desk sees it: which item, when it was due and
/// came back, and how much. Never the title: a returned loan is reading history, and the desk
/// needs the item barcode and the amount, not what the patron read.
public struct FeeOwed: Sendable, Equatable {
    public let itemBarcode: String
    public let dueOn: CalendarDay
    public let returnedOn: CalendarDay
    /// In the currency's minor unit, as `LoanFee.amount`.
    public let amount: Int64

    init(_ loan: Loan) throws(VaultError) {
        guard let fee = loan.fee, fee.settledAt == nil, let returned = loan.returnedAt else { throw .integrity }
        itemBarcode = loan.itemBarcode
        dueOn = loan.dueOn
        returnedOn = CalendarDay(returned)
        amount = fee.amount
    }
}

/// Encoded as `item`, `due`, `returned` (days) and `amount` (text with two decimals).
extension FeeOwed: Codable {
    private enum CodingKeys: String, CodingKey {
        case item, due, returned, amount
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(itemBarcode, forKey: .item)
        try container.encode(dueOn, forKey: .due)
        try container.encode(returnedOn, forKey: .returned)
        try container.encode(LoanFee.text(amount), forKey: .amount)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        itemBarcode = try container.decode(String.self, forKey: .item)
        dueOn = try container.decode(CalendarDay.self, forKey: .due)
        returnedOn = try container.decode(CalendarDay.self, forKey: .returned)
        guard let amount = try? LoanFee.amount(parsing: try container.decode(String.self, forKey: .amount)) else {
            throw DecodingError.dataCorruptedError(forKey: .amount, in: container, debugDescription: "not an amount such as 2.50")
        }
        self.amount = amount
    }
}
