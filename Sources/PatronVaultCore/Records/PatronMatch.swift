/// One hit of a staff search by email or name: enough to pick the right patron, no more.
public struct PatronMatch: Sendable, Equatable {
    public let cardBarcode: String
    public let fullName: String
}

/// Encoded as `card` and `name`, the keys front ends share.
extension PatronMatch: Codable {
    private enum CodingKeys: String, CodingKey {
        case cardBarcode = "card"
        case fullName = "name"
    }
}
