/// What happened to a loan record when its item came back.
public struct LoanReturn: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        /// Sealed and kept as the patron's reading history (they opted in).
        case keptAsHistory = "kept-as-history"
        /// Destroyed: row deleted and record key shredded; only the anonymous statistic remains.
        case destroyed
    }

    public let itemBarcode: String
    public let outcome: Outcome
}
