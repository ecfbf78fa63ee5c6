import Foundation

/// One access question in the words policies use. The core builds one per operation; the
/// `key=value` parser builds one for `policy explain` and for policy test cases.
public struct PolicyRequest: Sendable {
    /// `"staff"` or `"patron"`.
    public let principalKind: String
    public let principalRole: String
    /// A staff id, or a patron's pseudonym in hex.
    public let principalID: String
    /// The patron pseudonym when the principal is a patron; nil for staff.
    public let principalPatron: String?
    public let action: String
    public let resourceKind: String
    /// The patron the resource concerns; nil when it concerns no patron.
    public let resourcePatron: String?
    /// `"open"` or `"closed"` for loans; nil otherwise.
    public let resourceState: String?
    /// The purpose the staff member stated, if any.
    public let purpose: String?
    public let consent: Bool
    /// True when an approved legal order covers this request.
    public let legalOrder: Bool
    public let time: Date
    /// `"cli"` or `"daemon"`.
    public let frontEnd: String

    public init(
        principalKind: String, principalRole: String, principalID: String, principalPatron: String?,
        action: String, resourceKind: String, resourcePatron: String?, resourceState: String?,
        purpose: String?, consent: Bool, legalOrder: Bool, time: Date, frontEnd: String
    ) {
        self.principalKind = principalKind
        self.principalRole = principalRole
        self.principalID = principalID
        self.principalPatron = principalPatron
        self.action = action
        self.resourceKind = resourceKind
        self.resourcePatron = resourcePatron
        self.resourceState = resourceState
        self.purpose = purpose
        self.consent = consent
        self.legalOrder = legalOrder
        self.time = time
        self.frontEnd = frontEnd
    }

    /// The attribute behind a slot, or nil when the request leaves it out.
    @inline(__always)
    func value(of slot: AttributeSlot) -> PolicyValue? {
        switch slot {
        case .principalRole: .string(principalRole)
        case .principalID: .string(principalID)
        case .principalKind: .string(principalKind)
        case .principalPatron: principalPatron.map(PolicyValue.string)
        case .resourceKind: .string(resourceKind)
        case .resourcePatron: resourcePatron.map(PolicyValue.string)
        case .resourceState: resourceState.map(PolicyValue.string)
        case .contextPurpose: purpose.map(PolicyValue.string)
        case .contextConsent: .bool(consent)
        case .contextLegalOrder: .bool(legalOrder)
        case .contextTime: .time(time.timeIntervalSince1970)
        case .contextFrontEnd: .string(frontEnd)
        }
    }

    @inline(__always)
    func has(_ slot: AttributeSlot) -> Bool {
        switch slot {
        case .principalPatron: principalPatron != nil
        case .resourcePatron: resourcePatron != nil
        case .resourceState: resourceState != nil
        case .contextPurpose: purpose != nil
        default: true
        }
    }
}
