import Foundation

/// A lawful process (order, subpoena, warrant) as the vault holds it: who it concerns, what it
/// reaches and for which days, who filed it and who approved it, and whether it was disclosed.
/// Stored sealed; only its id and the patron's pseudonym are in the clear.
public struct LegalOrder: Sendable, Equatable {
    /// What an order reaches: the reading history, the registration, or both with open loans.
    public enum Scope: String, Sendable, Codable, CaseIterable {
        case history, registration, all
    }

    /// Where an order stands on a given day.
    public enum Status: String, Sendable, Codable {
        /// Filed, waiting for a second person's approval.
        case filed
        /// Approved and not yet used: it permits one disclosure until it expires.
        case approved
        /// Used: it permits nothing more.
        case disclosed
        /// Past its expiry day without a disclosure: it permits nothing.
        case expired
    }

    public let id: String
    /// The court's or agency's reference, as written on the order.
    public let reference: String
    /// The patron's pseudonym (the card is not kept with the order).
    public let patron: String
    public let scope: Scope
    /// The days whose records the order reaches, both included.
    public let from: CalendarDay
    public let to: CalendarDay
    /// The last day the order may be used.
    public let expires: CalendarDay
    /// Until this day the patron is not shown the order or the accesses made under it.
    public let delayNoticeUntil: CalendarDay?
    public let filedBy: String
    public let filedAt: Date
    public var approvedBy: String?
    public var approvedAt: Date?
    public var disclosedBy: String?
    public var disclosedAt: Date?

    public func status(on day: CalendarDay) -> Status {
        if disclosedAt != nil { return .disclosed }
        if day > expires { return .expired }
        return approvedAt == nil ? .filed : .approved
    }

    /// Whether the patron may be told of the order on `day`.
    public func noticeDue(on day: CalendarDay) -> Bool {
        delayNoticeUntil.map { day >= $0 } ?? true
    }

    /// One line for the patron's export: what the order was, what it reached, and where it stands.
    var patronNotice: String {
        let state = disclosedAt.map { "disclosed on \(CalendarDay($0))" } ?? (approvedAt == nil ? "filed, not approved" : "approved, not used")
        return "\(id): \(reference); \(scope.rawValue) from \(from) to \(to); \(state)"
    }

    /// The audit entries an order's steps carry as their detail, so the patron's view can hold
    /// them back until the notice is due.
    var auditDetail: String { Self.auditDetail(id) }
    static func auditDetail(_ id: String) -> String { "legal-order \(id)" }
    static func id(inAuditDetail detail: String?) -> String? {
        guard let detail, detail.hasPrefix("legal-order ") else { return nil }
        return String(detail.dropFirst("legal-order ".count))
    }

    /// Whether a loan falls in the order's window: out or returned on a day between `from` and
    /// `to`, or out across it.
    func covers(_ loan: Loan) -> Bool {
        let out = CalendarDay(loan.checkedOutAt)
        let back = loan.returnedAt.map(CalendarDay.init) ?? out
        return out <= to && max(back, out) >= from
    }
}

/// What front ends show: days as `YYYY-MM-DD`, instants as ISO 8601, the status as of the
/// listing (added by the listing, as it depends on the day).
extension LegalOrder: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, reference, patron, scope, from, to, expires, delayNoticeUntil, filedBy, filedAt, approvedBy, approvedAt, disclosedBy, disclosedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(reference, forKey: .reference)
        try container.encode(patron, forKey: .patron)
        try container.encode(scope, forKey: .scope)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(expires, forKey: .expires)
        try container.encodeIfPresent(delayNoticeUntil, forKey: .delayNoticeUntil)
        try container.encode(filedBy, forKey: .filedBy)
        try container.encode(filedAt.iso8601Text, forKey: .filedAt)
        try container.encodeIfPresent(approvedBy, forKey: .approvedBy)
        try container.encodeIfPresent(approvedAt?.iso8601Text, forKey: .approvedAt)
        try container.encodeIfPresent(disclosedBy, forKey: .disclosedBy)
        try container.encodeIfPresent(disclosedAt?.iso8601Text, forKey: .disclosedAt)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        reference = try container.decode(String.self, forKey: .reference)
        patron = try container.decode(String.self, forKey: .patron)
        scope = try container.decode(Scope.self, forKey: .scope)
        from = try container.decode(CalendarDay.self, forKey: .from)
        to = try container.decode(CalendarDay.self, forKey: .to)
        expires = try container.decode(CalendarDay.self, forKey: .expires)
        delayNoticeUntil = try container.decodeIfPresent(CalendarDay.self, forKey: .delayNoticeUntil)
        filedBy = try container.decode(String.self, forKey: .filedBy)
        filedAt = try container.instant(.filedAt)
        approvedBy = try container.decodeIfPresent(String.self, forKey: .approvedBy)
        approvedAt = try container.instantIfPresent(.approvedAt)
        disclosedBy = try container.decodeIfPresent(String.self, forKey: .disclosedBy)
        disclosedAt = try container.instantIfPresent(.disclosedAt)
    }
}

/// What a privacy officer files: the order as written, and the patron's card to find them by.
public struct LegalOrderFiling: Sendable {
    public var reference: String
    public var card: String
    public var scope: LegalOrder.Scope
    public var from: CalendarDay
    public var to: CalendarDay
    public var expires: CalendarDay
    public var delayNoticeUntil: CalendarDay?

    public init(
        reference: String, card: String, scope: LegalOrder.Scope, from: CalendarDay, to: CalendarDay, expires: CalendarDay,
        delayNoticeUntil: CalendarDay? = nil
    ) {
        self.reference = reference
        self.card = card
        self.scope = scope
        self.from = from
        self.to = to
        self.expires = expires
        self.delayNoticeUntil = delayNoticeUntil
    }
}

/// An order as a listing shows it: the order's fields and its status on the vault's day.
public struct ListedLegalOrder: Sendable, Codable, Equatable {
    public let order: LegalOrder
    public let status: LegalOrder.Status

    private enum Key: String, CodingKey { case status }

    public init(order: LegalOrder, status: LegalOrder.Status) {
        self.order = order
        self.status = status
    }

    public func encode(to encoder: any Encoder) throws {
        try order.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(status, forKey: .status)
    }

    public init(from decoder: any Decoder) throws {
        order = try LegalOrder(from: decoder)
        status = try decoder.container(keyedBy: Key.self).decode(LegalOrder.Status.self, forKey: .status)
    }
}
