/// The anonymous trace a returned loan leaves: which item went out at which branch in which
/// month, with no link to who borrowed it.
public struct CirculationStatistic: Sendable, Equatable {
    public let itemBarcode: String
    public let branch: String
    public let month: String
    public let returns: Int
}
