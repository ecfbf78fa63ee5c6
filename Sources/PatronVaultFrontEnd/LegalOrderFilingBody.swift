/// The body of `POST /v1/legal-orders`, as the CLI sends it and the daemon reads it: the order
/// as filed, days as `YYYY-MM-DD`, the patron by card.
public struct LegalOrderFilingBody: Codable, Sendable {
    public let reference: String
    public let card: String
    public let scope: String
    public let from: String
    public let to: String
    public let expires: String
    public let delayNoticeUntil: String?

    public init(reference: String, card: String, scope: String, from: String, to: String, expires: String, delayNoticeUntil: String?) {
        self.reference = reference
        self.card = card
        self.scope = scope
        self.from = from
        self.to = to
        self.expires = expires
        self.delayNoticeUntil = delayNoticeUntil
    }
}
