import Foundation

/// A patron whose data an account or key touched, for breach notification. The card is
/// resolved only for a privacy officer, and only while the patron still exists.
public struct ExposedPatron: Sendable, Equatable {
    public let pseudonym: String
    public let card: String?
}

/// Encoded as `pseudonym`, plus `card` only when it was resolved for a privacy officer.
extension ExposedPatron: Encodable {}
