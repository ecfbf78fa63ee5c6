/// The attributes every request carries, fixed by the engine. Policies name them by path; the
/// loader resolves each path to a slot once, so deciding never looks a name up.
enum AttributeSlot: Int, Sendable, CaseIterable {
    case principalRole
    case principalID
    case principalKind
    case principalPatron
    case resourceKind
    case resourcePatron
    case resourceState
    case contextPurpose
    case contextConsent
    case contextLegalOrder
    case contextTime
    case contextFrontEnd

    /// The value shapes the engine stores; schema types refine `string` into enumerations.
    enum Storage: Sendable {
        case string
        case bool
        case datetime
    }

    var path: String {
        switch self {
        case .principalRole: "principal.role"
        case .principalID: "principal.id"
        case .principalKind: "principal.kind"
        case .principalPatron: "principal.patron"
        case .resourceKind: "resource.kind"
        case .resourcePatron: "resource.patron"
        case .resourceState: "resource.state"
        case .contextPurpose: "context.purpose"
        case .contextConsent: "context.consent"
        case .contextLegalOrder: "context.legalOrder"
        case .contextTime: "context.time"
        case .contextFrontEnd: "context.frontEnd"
        }
    }

    var storage: Storage {
        switch self {
        case .contextConsent, .contextLegalOrder: .bool
        case .contextTime: .datetime
        default: .string
        }
    }

    /// Whether a request may leave this attribute out; a policy reading it without `has`
    /// then fails closed.
    var mayBeAbsent: Bool {
        switch self {
        case .principalPatron, .resourcePatron, .resourceState, .contextPurpose: true
        default: false
        }
    }

    static let byPath: [String: AttributeSlot] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.path, $0) })
}
