import PatronVaultCore

// The bodies of the daemon's desk routes, which the CLI sends in client mode and the daemon
// reads: one definition, so the two cannot drift apart.

/// `POST /v1/patrons/lookup`: the card travels in the body, never in a path an access log keeps.
public struct CardLookup: Codable, Sendable {
    public let card: String
    public let purpose: String?
    /// Field names to narrow the view to (what a patron at the desk asked to see); nil for all
    /// the purpose reveals.
    public let fields: [String]?

    public init(card: String, purpose: String?, fields: [String]? = nil) {
        self.card = card
        self.purpose = purpose
        self.fields = fields
    }
}

/// `POST /v1/loans`; `due` is `YYYY-MM-DD`.
public struct CheckoutRequest: Codable, Sendable {
    public let card: String
    public let item: String
    public let title: String
    public let author: String?
    public let due: String?
    public let branch: String?

    public init(card: String, item: String, title: String, author: String?, due: String?, branch: String?) {
        self.card = card
        self.item = item
        self.title = title
        self.author = author
        self.due = due
        self.branch = branch
    }
}

/// What a checkout answers: the item and the day it is due, not the whole loan.
public struct CheckedOut: Codable, Sendable {
    public let item: String
    public let due: CalendarDay

    public init(item: String, due: CalendarDay) {
        self.item = item
        self.due = due
    }
}

/// `POST /v1/loans/return`; `fee` is an amount such as `2.50`, which holds the loan until settled.
public struct ReturnRequest: Codable, Sendable {
    public let item: String
    public let fee: String?

    public init(item: String, fee: String?) {
        self.item = item
        self.fee = fee
    }
}

/// `POST /v1/loans/settle`.
public struct SettleRequest: Codable, Sendable {
    public let card: String
    public let item: String
    public let purpose: String?

    public init(card: String, item: String, purpose: String?) {
        self.card = card
        self.item = item
        self.purpose = purpose
    }
}
