/// What staff see at a desk, and what a patron sees of their own account: the registration and
/// the loans still out. Closed loans (reading history) are never part of it.
public struct PatronProfile: Sendable {
    public let registration: PatronRegistration
    public let openLoans: [Loan]
}

/// Encoded as `registration` and `openLoans`, the shape the CLI's `--json` and the daemon's
/// bodies share.
extension PatronProfile: Encodable {}
