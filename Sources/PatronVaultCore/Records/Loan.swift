import Foundation

/// One loan. Sealed whole; the plaintext row keeps only its state and day-granular dates for
/// retention, plus a blind index of the item barcode while the loan is open.
public struct Loan: Sendable, Equatable {
    public var itemBarcode: String
    public var title: String
    public var author: String?
    public var branch: String
    public var checkedOutAt: Date
    public var dueOn: CalendarDay
    public var returnedAt: Date?
    /// A fee charged at the return, while owed and after it is settled.
    public var fee: LoanFee?

    public init(
        itemBarcode: String, title: String, author: String?, branch: String, checkedOutAt: Date, dueOn: CalendarDay, returnedAt: Date? = nil,
        fee: LoanFee? = nil
    ) {
        self.itemBarcode = itemBarcode
        self.title = title
        self.author = author
        self.branch = branch
        self.checkedOutAt = checkedOutAt
        self.dueOn = dueOn
        self.returnedAt = returnedAt
        self.fee = fee
    }

    func encoded() -> [UInt8] {
        var writer = CanonicalWriter(capacity: 160)
        // Format 2 only for a loan with a fee, so every other loan encodes as it always has.
        writer.append(byte: fee == nil ? 1 : 2)
        writer.append(itemBarcode)
        writer.append(title)
        writer.append(author)
        writer.append(branch)
        writer.append(Int64(checkedOutAt.timeIntervalSince1970 * 1000))
        writer.append(dueOn.daysSinceEpoch)
        writer.append(returnedAt.map { Int64($0.timeIntervalSince1970 * 1000) })
        if let fee {
            writer.append(fee.amount)
            writer.append(fee.settledAt.map { Int64($0.timeIntervalSince1970 * 1000) })
        }
        return writer.bytes
    }

    init(decoding bytes: [UInt8]) throws(VaultError) {
        var reader = CanonicalReader(bytes)
        let format = try reader.readByte()
        guard format == 1 || format == 2 else { throw .integrity }
        itemBarcode = try reader.readString()
        title = try reader.readString()
        author = try reader.readOptionalString()
        branch = try reader.readString()
        checkedOutAt = Date(timeIntervalSince1970: Double(try reader.readInt64()) / 1000)
        dueOn = CalendarDay(daysSinceEpoch: try reader.readInt64())
        returnedAt = try reader.readOptionalInt64().map { Date(timeIntervalSince1970: Double($0) / 1000) }
        if format == 2 {
            let amount = try reader.readInt64()
            guard amount > 0 else { throw .integrity }
            fee = LoanFee(amount: amount, settledAt: try reader.readOptionalInt64().map { Date(timeIntervalSince1970: Double($0) / 1000) })
        }
        guard reader.isAtEnd else { throw .integrity }
    }
}

/// The shape front ends show: instants as ISO 8601 strings, the due day as `YYYY-MM-DD`, no
/// author or return time when there is none.
extension Loan: Codable {
    private enum CodingKeys: String, CodingKey {
        case item, title, author, branch, checkedOut, due, returned, fee
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(itemBarcode, forKey: .item)
        try container.encode(title, forKey: .title)
        try container.encodeIfPresent(author, forKey: .author)
        try container.encode(branch, forKey: .branch)
        try container.encode(checkedOutAt.iso8601Text, forKey: .checkedOut)
        try container.encode(dueOn, forKey: .due)
        try container.encodeIfPresent(returnedAt?.iso8601Text, forKey: .returned)
        try container.encodeIfPresent(fee, forKey: .fee)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            itemBarcode: try container.decode(String.self, forKey: .item), title: try container.decode(String.self, forKey: .title),
            author: try container.decodeIfPresent(String.self, forKey: .author), branch: try container.decode(String.self, forKey: .branch),
            checkedOutAt: try container.instant(.checkedOut), dueOn: try container.decode(CalendarDay.self, forKey: .due),
            returnedAt: try container.instantIfPresent(.returned), fee: try container.decodeIfPresent(LoanFee.self, forKey: .fee))
    }
}
