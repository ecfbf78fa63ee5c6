import Foundation

/// What staff see of a patron for a stated purpose: only the fields the permitting rules reveal
/// (`reveals:` in `Policies/`). A field not revealed is absent, never an empty value, so neither
/// the JSON nor the text a front end prints can carry it. Reading history is never part of it.
public struct PatronView: Sendable, Equatable {
    public var card: String?
    /// `active`, or `expired` once the card's expiry day has passed.
    public var cardStatus: String?
    public var name: String?
    public var expires: CalendarDay?
    public var email: String?
    /// `z***@example.org`: enough to confirm an address the patron says, not to learn it.
    public var emailMasked: String?
    public var phone: String?
    /// The last four digits of the phone number.
    public var phoneLast4: String?
    public var address: String?
    public var birthDate: CalendarDay?
    public var birthYear: Int?
    public var branch: String?
    public var category: String?
    /// The channel the patron chose for hold notices, and that contact alone.
    public var contact: Contact?
    public var history: HistoryPreference?
    public var registered: CalendarDay?
    public var hasPIN: Bool?
    public var openLoans: [LoanView]?
    /// Open loans past their due day.
    public var overdueLoans: [LoanView]?
    public var feesOwed: [FeeView]?

    /// The contact details hold notices go to.
    public struct Contact: Sendable, Equatable, Codable {
        public let channel: NotificationChannel
        /// The email address, phone number or postal address of that channel.
        public let value: String
    }

    /// A loan still out, reduced to the revealed fields.
    public struct LoanView: Sendable, Equatable {
        public var item: String?
        public var title: String?
        public var author: String?
        public var branch: String?
        public var checkedOut: Date?
        public var due: CalendarDay?
    }

    /// A fee owed on a returned loan, reduced to the revealed fields. Never a title.
    public struct FeeView: Sendable, Equatable {
        public var item: String?
        public var due: CalendarDay?
        public var returned: CalendarDay?
        /// In the currency's minor unit, as `LoanFee.amount`.
        public var amount: Int64?
    }
}

extension PatronView {
    /// The view of a registration alone (a search result), or with loans and fees (a lookup).
    init(_ registration: PatronRegistration, openLoans: [Loan]? = nil, fees: [FeeOwed]? = nil, today: CalendarDay, showing shown: ViewFields.Shown) {
        if shown.contains(.card) { card = registration.cardBarcode }
        if shown.contains(.cardStatus) { cardStatus = registration.cardExpiry.map { $0 < today ? "expired" : "active" } ?? "active" }
        if shown.contains(.name) { name = registration.fullName }
        if shown.contains(.expiry) { expires = registration.cardExpiry }
        if shown.contains(.email) {
            email = registration.email
        } else if shown.contains(.emailMasked) {
            emailMasked = Self.masked(email: registration.email)
        }
        if shown.contains(.phone) {
            phone = registration.phone
        } else if shown.contains(.phoneLast4) {
            phoneLast4 = registration.phone.map(Self.lastDigits)
        }
        if shown.contains(.address) { address = registration.postalAddress }
        if shown.contains(.birthDate) {
            birthDate = registration.birthDate
        } else if shown.contains(.birthYear) {
            birthYear = registration.birthDate.map { $0.civil.0 }
        }
        if shown.contains(.branch) { branch = registration.homeBranch }
        if shown.contains(.category) { category = registration.category }
        if shown.contains(.contact) { contact = Self.contact(of: registration) }
        if shown.contains(.historyPreference) { history = registration.history }
        if shown.contains(.registered) { registered = registration.registeredOn }
        if shown.contains(.pinState) { hasPIN = registration.hasPIN }
        if let loans = openLoans {
            if shown.any(.openLoanItem, .openLoanDue, .openLoanTitle, .openLoanAuthor, .openLoanBranch, .openLoanCheckedOut) {
                self.openLoans = Self.ordered(loans.map { loan in
                    LoanView(
                        item: shown.contains(.openLoanItem) ? loan.itemBarcode : nil, title: shown.contains(.openLoanTitle) ? loan.title : nil,
                        author: shown.contains(.openLoanAuthor) ? loan.author : nil, branch: shown.contains(.openLoanBranch) ? loan.branch : nil,
                        checkedOut: shown.contains(.openLoanCheckedOut) ? loan.checkedOutAt : nil, due: shown.contains(.openLoanDue) ? loan.dueOn : nil)
                })
            }
            if shown.any(.overdueLoanItem, .overdueLoanDue) {
                overdueLoans = Self.ordered(loans.filter { $0.dueOn < today }.map { loan in
                    LoanView(item: shown.contains(.overdueLoanItem) ? loan.itemBarcode : nil, due: shown.contains(.overdueLoanDue) ? loan.dueOn : nil)
                })
            }
        }
        if let fees, shown.any(.feeItem, .feeDue, .feeReturned, .feeAmount) {
            feesOwed = fees.map { fee in
                FeeView(
                    item: shown.contains(.feeItem) ? fee.itemBarcode : nil, due: shown.contains(.feeDue) ? fee.dueOn : nil,
                    returned: shown.contains(.feeReturned) ? fee.returnedOn : nil, amount: shown.contains(.feeAmount) ? fee.amount : nil)
            }.sorted { ($0.due?.daysSinceEpoch ?? .max, $0.item ?? "") < ($1.due?.daysSinceEpoch ?? .max, $1.item ?? "") }
        }
    }

    /// `z***@example.org`: the first character of the local part, then the domain.
    static func masked(email: String) -> String {
        guard let at = email.lastIndex(of: "@"), at > email.startIndex else { return "***" }
        return String(email[email.startIndex]) + "***" + String(email[at...])
    }

    /// The last four digits, or fewer if the number has fewer.
    static func lastDigits(_ phone: String) -> String {
        String(phone.filter(\.isASCIIDigit).suffix(4))
    }

    /// The chosen channel and its contact; email when the channel has no contact on file.
    static func contact(of registration: PatronRegistration) -> Contact {
        switch registration.notifyBy {
        case .phone? where registration.phone != nil: Contact(channel: .phone, value: registration.phone!)
        case .post? where registration.postalAddress != nil: Contact(channel: .post, value: registration.postalAddress!)
        default: Contact(channel: .email, value: registration.email)
        }
    }

    /// Loans ordered by what the view shows (due day, then item, then title), so their order
    /// says nothing the view leaves out, such as when each was borrowed.
    static func ordered(_ loans: [LoanView]) -> [LoanView] {
        loans.sorted { ($0.due?.daysSinceEpoch ?? .max, $0.item ?? "", $0.title ?? "") < ($1.due?.daysSinceEpoch ?? .max, $1.item ?? "", $1.title ?? "") }
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Encoded with the same keys as a registration and a loan where the field is the same
/// (`card`, `name`, `email`, `expires`, `openLoans` …), and its own keys for masked forms
/// (`emailMasked`, `phoneLast4`, `birthYear`); a field not revealed is left out.
extension PatronView: Codable {
    private enum CodingKeys: String, CodingKey {
        case card, cardStatus, name, expires, email, emailMasked, phone, phoneLast4, address, birthDate, birthYear, branch, category, contact
        case history, registered, hasPIN, openLoans, overdueLoans, feesOwed
    }
}

extension PatronView.LoanView: Codable {
    private enum CodingKeys: String, CodingKey {
        case item, title, author, branch, checkedOut, due
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(item, forKey: .item)
        try container.encodeIfPresent(title, forKey: .title)
        try container.encodeIfPresent(author, forKey: .author)
        try container.encodeIfPresent(branch, forKey: .branch)
        try container.encodeIfPresent(checkedOut?.iso8601Text, forKey: .checkedOut)
        try container.encodeIfPresent(due, forKey: .due)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        item = try container.decodeIfPresent(String.self, forKey: .item)
        title = try container.decodeIfPresent(String.self, forKey: .title)
        author = try container.decodeIfPresent(String.self, forKey: .author)
        branch = try container.decodeIfPresent(String.self, forKey: .branch)
        checkedOut = try container.instantIfPresent(.checkedOut)
        due = try container.decodeIfPresent(CalendarDay.self, forKey: .due)
    }
}

extension PatronView.FeeView: Codable {
    private enum CodingKeys: String, CodingKey {
        case item, due, returned, amount
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(item, forKey: .item)
        try container.encodeIfPresent(due, forKey: .due)
        try container.encodeIfPresent(returned, forKey: .returned)
        try container.encodeIfPresent(amount.map(LoanFee.text), forKey: .amount)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        item = try container.decodeIfPresent(String.self, forKey: .item)
        due = try container.decodeIfPresent(CalendarDay.self, forKey: .due)
        returned = try container.decodeIfPresent(CalendarDay.self, forKey: .returned)
        if let text = try container.decodeIfPresent(String.self, forKey: .amount) {
            guard let value = try? LoanFee.amount(parsing: text) else {
                throw DecodingError.dataCorruptedError(forKey: .amount, in: container, debugDescription: "not an amount such as 2.50")
            }
            amount = value
        }
    }
}
