/// What staff see at a desk, and what a patron sees of their own account: the registration, the
/// loans still out, and fees owed on returned loans (without their titles). Closed loans
/// (reading history) are never part of it.
public struct PatronProfile: Sendable {
    public let registration: PatronRegistration
    public let openLoans: [Loan]
    public let feesOwed: [FeeOwed]
}

/// Encoded as `registration`, `openLoans` and `feesOwed`, the shape the CLI's `--json` and the
/// daemon's bodies share.
extension PatronProfile: Codable {}
