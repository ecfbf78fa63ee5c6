import Foundation
import PatronVaultPolicy

/// Every field a staff view can show, named as `schema.pvschema` declares them. The vault opens
/// only with a schema whose fields it knows how to show, so a rule can never promise a field
/// the vault would show some other way, or not at all.
enum ViewField: String, CaseIterable, Sendable {
    case name
    case card
    case cardStatus = "card-status"
    case expiry
    case email
    case emailMasked = "email.masked"
    case phone
    case phoneLast4 = "phone.last4"
    case address
    case birthDate = "birth-date"
    case birthYear = "birth-date.year"
    case branch
    case category
    case contact
    case historyPreference = "history-preference"
    case registered
    case pinState = "pin-state"
    case openLoanItem = "open-loans.item"
    case openLoanDue = "open-loans.due"
    case openLoanTitle = "open-loans.title"
    case openLoanAuthor = "open-loans.author"
    case openLoanBranch = "open-loans.branch"
    case openLoanCheckedOut = "open-loans.checked-out"
    case overdueLoanItem = "overdue-loans.item"
    case overdueLoanDue = "overdue-loans.due"
    case feeItem = "fees.item"
    case feeDue = "fees.due"
    case feeReturned = "fees.returned"
    case feeAmount = "fees.amount"

    /// How a patron reads the field among their accesses ("desk-1 saw your name and open loans").
    var phrase: String {
        switch self {
        case .name: "name"
        case .card: "card number"
        case .cardStatus: "card status"
        case .expiry: "card expiry"
        case .email: "email"
        case .emailMasked: "email (masked)"
        case .phone: "phone"
        case .phoneLast4: "last digits of phone"
        case .address: "address"
        case .birthDate: "birth date"
        case .birthYear: "birth year"
        case .branch: "home branch"
        case .category: "category"
        case .contact: "contact for notices"
        case .historyPreference: "history choice"
        case .registered: "registration date"
        case .pinState: "whether a PIN is set"
        case .openLoanItem, .openLoanDue, .openLoanTitle, .openLoanAuthor, .openLoanBranch, .openLoanCheckedOut: "open loans"
        case .overdueLoanItem, .overdueLoanDue: "overdue loans"
        case .feeItem, .feeDue, .feeReturned, .feeAmount: "fees owed"
        }
    }
}

/// The schema's field bits resolved to the fields the vault shows, once when the vault opens.
struct ViewFields: Sendable {
    private let bits: [ViewField: RevealedFields]
    let schema: PolicySchema

    /// Refuses a schema that declares a field the vault cannot show: how policies are loaded.
    static func check(_ schema: PolicySchema) throws(VaultError) {
        for name in schema.fields where ViewField(rawValue: name) == nil {
            let known = ViewField.allCases.map(\.rawValue).joined(separator: ", ")
            throw VaultError(.invalidPolicy, "invalid policy: \(schema.name) declares the field \(name), which the vault cannot show; it shows \(known)")
        }
    }

    /// For a schema already checked (or one declaring no fields, as the built-in sets).
    init(schema: PolicySchema) {
        var bits: [ViewField: RevealedFields] = [:]
        for field in ViewField.allCases {
            bits[field] = schema.field(named: field.rawValue)
        }
        self.bits = bits
        self.schema = schema
    }

    /// What `revealed` shows: a set the view builder asks field by field.
    func shown(_ revealed: RevealedFields) -> Shown {
        Shown(revealed: revealed, bits: bits)
    }

    /// The field names an audit entry records for a decision (never a value).
    func auditDetail(_ revealed: RevealedFields) -> String {
        let names = schema.fieldNames(revealed)
        return Self.detailPrefix + (names.isEmpty ? "nothing" : names.joined(separator: ", "))
    }

    static let detailPrefix = "revealed "

    /// The field names an entry's detail records, or nil when the detail is not a reveal note.
    static func revealedNames(inAuditDetail detail: String?) -> [String]? {
        guard let detail, detail.hasPrefix(detailPrefix) else { return nil }
        let list = detail.dropFirst(detailPrefix.count)
        guard list != "nothing" else { return [] }
        return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    struct Shown: Sendable {
        let revealed: RevealedFields
        fileprivate let bits: [ViewField: RevealedFields]

        func contains(_ field: ViewField) -> Bool {
            guard let bit = bits[field] else { return false }
            return !revealed.intersection(bit).isEmpty
        }

        func any(_ fields: ViewField...) -> Bool { fields.contains(where: contains) }
    }
}
