import Foundation
import PatronVaultPolicy
import Synchronization

/// Every field a staff view can show, named as `schema.pvschema` declares them. A policy folder
/// whose schema declares a field the vault cannot show does not load, so a rule can never
/// promise a field the vault would show some other way; a field it does not know is never shown.
enum ViewField: Int, CaseIterable, Sendable {
    case name
    case card
    case cardStatus
    case expiry
    case email
    case emailMasked
    case phone
    case phoneLast4
    case address
    case birthDate
    case birthYear
    case branch
    case category
    case contact
    case historyPreference
    case registered
    case pinState
    case openLoanItem
    case openLoanDue
    case openLoanTitle
    case openLoanAuthor
    case openLoanBranch
    case openLoanCheckedOut
    case overdueLoanItem
    case overdueLoanDue
    case feeItem
    case feeDue
    case feeReturned
    case feeAmount

    /// The field's name in the schema and the rules, in case order.
    private static let names = [
        "name",
        "card",
        "card-status",
        "expiry",
        "email",
        "email.masked",
        "phone",
        "phone.last4",
        "address",
        "birth-date",
        "birth-date.year",
        "branch",
        "category",
        "contact",
        "history-preference",
        "registered",
        "pin-state",
        "open-loans.item",
        "open-loans.due",
        "open-loans.title",
        "open-loans.author",
        "open-loans.branch",
        "open-loans.checked-out",
        "overdue-loans.item",
        "overdue-loans.due",
        "fees.item",
        "fees.due",
        "fees.returned",
        "fees.amount",
    ]
    private static let byName = Dictionary(uniqueKeysWithValues: allCases.map { ($0.schemaName, $0) })

    var schemaName: String { Self.names[rawValue] }

    init?(schemaName name: String) {
        guard let field = Self.byName[name] else { return nil }
        self = field
    }

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
    /// Per field, in case order: its schema bit (zero when the schema does not declare it).
    private let bits: [UInt64]
    let schema: PolicySchema
    private let details: DetailCache

    /// Refuses a schema that declares a field the vault cannot show: how policies are loaded.
    static func check(_ schema: PolicySchema) throws(VaultError) {
        for name in schema.fields where ViewField(schemaName: name) == nil {
            let known = ViewField.allCases.map(\.schemaName).joined(separator: ", ")
            throw VaultError(.invalidPolicy, "invalid policy: \(schema.name) declares the field \(name), which the vault cannot show; it shows \(known)")
        }
    }

    /// For a schema already checked (or one declaring no fields, as the built-in sets).
    init(schema: PolicySchema) {
        bits = ViewField.allCases.map { schema.field(named: $0.schemaName)?.bits ?? 0 }
        self.schema = schema
        details = DetailCache()
    }

    /// The set of fields a person named, each one a field the schema declares; an unknown name
    /// is refused with the list of known ones (names only, never a value).
    func fields(named names: [String]) throws(VaultError) -> RevealedFields {
        switch schema.fields(named: names.map { $0.trimmingCharacters(in: .whitespaces) }) {
        case .success(let set): return set
        case .failure(let unknown):
            throw VaultError.invalid("unknown field \(unknown.name); the fields are \(schema.fields.joined(separator: ", "))")
        }
    }

    /// What `revealed` shows: a set the view builder asks field by field.
    func shown(_ revealed: RevealedFields) -> Shown {
        Shown(revealed: revealed, bits: bits)
    }

    /// The field names an audit entry records for a decision (never a value). A lookup
    /// records three, from the few sets the rules can make, so each text is made once.
    func auditDetail(_ revealed: RevealedFields) -> String {
        details.text(for: revealed) { revealed in
            let names = schema.fieldNames(revealed)
            return Self.detailPrefix + (names.isEmpty ? "nothing" : names.joined(separator: ", "))
        }
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
        fileprivate let bits: [UInt64]

        func contains(_ field: ViewField) -> Bool {
            revealed.bits & bits[field.rawValue] != 0
        }

        func any(_ fields: ViewField...) -> Bool { fields.contains(where: contains) }
    }
}

/// The audit detail text of each revealed set met so far, up to `limit` sets: the rules make a
/// handful, but `--fields` lets a caller choose the set, so the cache must not grow with them.
private final class DetailCache: Sendable {
    private static let limit = 256
    private let texts = Mutex<[UInt64: String]>([:])

    func text(for revealed: RevealedFields, making make: (RevealedFields) -> String) -> String {
        if let known = texts.withLock({ $0[revealed.bits] }) { return known }
        let text = make(revealed)
        texts.withLock { if $0.count < Self.limit { $0[revealed.bits] = text } }
        return text
    }
}
