/// One line of the library's retention schedule: which records go, and how long after the day
/// they count from. The library edits the number and the unit; what each kind of record counts
/// from, and what happens to it, is fixed here so a schedule cannot say something the vault
/// cannot do.
public struct RetentionRule: Sendable, Equatable {
    /// The kinds of records a schedule can govern.
    public enum Records: String, Sendable, CaseIterable {
        /// Returned loans a patron chose to keep: destroyed once they are older than the period,
        /// counted from the day each was returned.
        case history
        /// Returned loans held because a fee was owed on them, once the fee is settled: destroyed
        /// once the settlement is older than the period (a patron who keeps history has the loan
        /// moved into their history when the fee is settled instead).
        case heldLoans = "held-loans"
        /// Accounts whose card expired and that nobody has used since: erased once both the expiry
        /// and the last activity are older than the period, when nothing is checked out and no
        /// fee is owed.
        case expiredAccounts = "expired-accounts"
        /// Failed-PIN counts and lockouts: forgotten once the last failed attempt is older than
        /// the period.
        case signInFailures = "sign-in-failures"
        /// The anonymous monthly return counts: merged into yearly counts once the month ended
        /// longer ago than the period.
        case statistics

        /// What a run does to the records, in words for a dry run and a receipt.
        public var effect: String {
            switch self {
            case .history, .heldLoans: "destroyed (their keys shredded)"
            case .expiredAccounts: "erased (every key shredded, blind indexes removed)"
            case .signInFailures: "forgotten"
            case .statistics: "merged from months into years"
            }
        }
    }

    public let id: String
    /// The one-line description the library wrote, shown in dry runs, receipts and the notice.
    public let description: String
    public let records: Records
    public let period: RetentionPeriod
    public let file: String
    public let line: Int
    public let column: Int
}

/// A length of time in whole days, months or years.
public struct RetentionPeriod: Sendable, Equatable, CustomStringConvertible {
    public enum Unit: String, Sendable, CaseIterable {
        case days, months, years

        /// The largest count the schedule accepts: a hundred years.
        var maximum: Int {
            switch self {
            case .days: 36_500
            case .months: 1_200
            case .years: 100
            }
        }
    }

    public let count: Int
    public let unit: Unit

    public var description: String {
        "\(count) \(count == 1 ? String(unit.rawValue.dropLast()) : unit.rawValue)"
    }
}
