import Foundation

/// A fee charged when an item came back (overdue, damaged), sealed inside the loan. While it is
/// owed the loan is held, whatever the patron's history choice, so the library keeps the debt;
/// once it is paid or waived the loan goes the way the patron chose (kept as history, or held
/// for the retention schedule's `held-loans` period and then destroyed).
public struct LoanFee: Sendable, Equatable {
    /// In the currency's minor unit (cents), so no amount is ever a rounded float.
    public var amount: Int64
    public var settledAt: Date?

    public init(amount: Int64, settledAt: Date? = nil) {
        self.amount = amount
        self.settledAt = settledAt
    }

    /// The largest fee the desk records: 100,000.00.
    static let maximum: Int64 = 10_000_000

    /// `2.50`, `12.00`: the amount as the desk types and reads it.
    public static func text(_ amount: Int64) -> String {
        let cents = amount % 100
        return "\(amount / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Parses what the desk typed (`2.5`, `2.50`, `12`): a positive amount with at most two
    /// decimals, up to `maximum`.
    public static func amount(parsing typed: String) throws(VaultError) -> Int64 {
        let parts = typed.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 6, parts[0].allSatisfy(\.isASCIIDigit),
              parts.count == 1 || ((1...2).contains(parts[1].count) && parts[1].allSatisfy(\.isASCIIDigit)),
              let whole = Int64(parts[0])
        else {
            throw VaultError.invalid("a fee is an amount such as 2.50 (digits, at most two after the point)")
        }
        var cents: Int64 = 0
        if parts.count == 2, let fraction = Int64(parts[1]) { cents = parts[1].count == 1 ? fraction * 10 : fraction }
        let amount = whole * 100 + cents
        guard amount > 0 else { throw VaultError.invalid("a fee must be more than 0.00; return the item without --fee instead") }
        guard amount <= maximum else { throw VaultError.invalid("a fee can be at most \(Self.text(maximum))") }
        return amount
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Encoded as `amount` (text with two decimals) and, once paid or waived, `settled`.
extension LoanFee: Codable {
    private enum CodingKeys: String, CodingKey {
        case amount, settled
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.text(amount), forKey: .amount)
        try container.encodeIfPresent(settledAt?.iso8601Text, forKey: .settled)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let amount = try? Self.amount(parsing: try container.decode(String.self, forKey: .amount)) else {
            throw DecodingError.dataCorruptedError(forKey: .amount, in: container, debugDescription: "not an amount such as 2.50")
        }
        self.init(amount: amount, settledAt: try container.instantIfPresent(.settled))
    }
}
