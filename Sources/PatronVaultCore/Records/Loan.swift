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

    public init(itemBarcode: String, title: String, author: String?, branch: String, checkedOutAt: Date, dueOn: CalendarDay, returnedAt: Date? = nil) {
        self.itemBarcode = itemBarcode
        self.title = title
        self.author = author
        self.branch = branch
        self.checkedOutAt = checkedOutAt
        self.dueOn = dueOn
        self.returnedAt = returnedAt
    }

    func encoded() -> [UInt8] {
        var writer = CanonicalWriter(capacity: 160)
        writer.append(byte: 1)
        writer.append(itemBarcode)
        writer.append(title)
        writer.append(author)
        writer.append(branch)
        writer.append(Int64(checkedOutAt.timeIntervalSince1970 * 1000))
        writer.append(dueOn.daysSinceEpoch)
        writer.append(returnedAt.map { Int64($0.timeIntervalSince1970 * 1000) })
        return writer.bytes
    }

    init(decoding bytes: [UInt8]) throws(VaultError) {
        var reader = CanonicalReader(bytes)
        guard try reader.readByte() == 1 else { throw .integrity }
        itemBarcode = try reader.readString()
        title = try reader.readString()
        author = try reader.readOptionalString()
        branch = try reader.readString()
        checkedOutAt = Date(timeIntervalSince1970: Double(try reader.readInt64()) / 1000)
        dueOn = CalendarDay(daysSinceEpoch: try reader.readInt64())
        returnedAt = try reader.readOptionalInt64().map { Date(timeIntervalSince1970: Double($0) / 1000) }
        guard reader.isAtEnd else { throw .integrity }
    }
}

/// The shape front ends show: instants as ISO 8601 strings, the due day as `YYYY-MM-DD`, no
/// author or return time when there is none.
extension Loan: Encodable {
    private enum CodingKeys: String, CodingKey {
        case item, title, author, branch, checkedOut, due, returned
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(itemBarcode, forKey: .item)
        try container.encode(title, forKey: .title)
        try container.encodeIfPresent(author, forKey: .author)
        try container.encode(branch, forKey: .branch)
        try container.encode(checkedOutAt.formatted(.iso8601), forKey: .checkedOut)
        try container.encode(dueOn, forKey: .due)
        try container.encodeIfPresent(returnedAt?.formatted(.iso8601), forKey: .returned)
    }
}
