/// The anonymous trace a returned loan leaves: which item went out at which branch in which
/// month, with no link to who borrowed it.
public struct CirculationStatistic: Sendable, Equatable {
    public let itemBarcode: String
    public let branch: String
    public let month: String
    public let returns: Int

    package init(itemBarcode: String, branch: String, month: String, returns: Int) {
        self.itemBarcode = itemBarcode
        self.branch = branch
        self.month = month
        self.returns = returns
    }
}

/// Encoded as `item`, `branch`, `month` and `returns`, the keys front ends share.
extension CirculationStatistic: Codable {
    private enum CodingKeys: String, CodingKey {
        case item, branch, month, returns
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(itemBarcode, forKey: .item)
        try container.encode(branch, forKey: .branch)
        try container.encode(month, forKey: .month)
        try container.encode(returns, forKey: .returns)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        itemBarcode = try container.decode(String.self, forKey: .item)
        branch = try container.decode(String.self, forKey: .branch)
        month = try container.decode(String.self, forKey: .month)
        returns = try container.decode(Int.self, forKey: .returns)
    }
}
