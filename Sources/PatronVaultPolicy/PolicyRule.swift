/// One loaded rule: its words for people, its scope (roles and actions) resolved to bits and
/// indices, and its condition compiled against the schema.
struct PolicyRule: Sendable {
    let id: String
    let description: String
    var effect: PolicyEffect
    /// Role names as written, or nil for `roles: any`.
    let roles: [String]?
    let roleMask: UInt64
    /// Action names as written, or nil for `actions: any`.
    let actions: [String]?
    let actionIndices: [Int]?
    let condition: Condition?
    /// Fields the rule shows when it permits a read (`reveals:`), in the order written; empty
    /// when it reveals nothing.
    var reveals: [String] = []
    var revealed: RevealedFields = .nothing
    /// The rule as written in its file, comments after it left out: what a notice quotes when it
    /// cannot put the rule in words of its own.
    var source = ""
    let file: String
    let line: Int
    let column: Int

    /// Whether the rule's scope covers a request, before its condition is looked at: a
    /// condition is evaluated (and can fail closed) only for requests the rule is about.
    @inline(__always)
    func covers(roleBit: UInt64) -> Bool {
        roles == nil || roleMask & roleBit != 0
    }

    /// The purposes the rule's condition requires, when it requires one or a list
    /// (`context.purpose == "fines"`, `context.purpose in [...]`, possibly among other terms
    /// joined by `and`); nil when it does not say, or says it another way.
    var purposes: [String]? {
        condition.flatMap(Self.purposes)
    }

    private static func purposes(in condition: Condition) -> [String]? {
        switch condition {
        case .all(let terms):
            // Every purpose term of an `and` must hold: the purposes all of them allow.
            let lists = terms.compactMap(purposes)
            guard var common = lists.first else { return nil }
            for list in lists.dropFirst() { common = common.filter(list.contains) }
            return common
        case .compare(.attribute(.contextPurpose), .equal, .constant(.string(let purpose))),
             .compare(.constant(.string(let purpose)), .equal, .attribute(.contextPurpose)):
            return [purpose]
        case .member(.attribute(.contextPurpose), let values, negated: false):
            let texts = values.compactMap { value -> String? in
                if case .string(let text) = value { return text }
                return nil
            }
            return texts.count == values.count ? texts : nil
        default:
            return nil
        }
    }

    /// The reason given when this rule alone decides.
    var reason: String {
        switch effect {
        case .permit: "permitted by \(id): \(description)"
        case .forbid: "forbidden by \(id): \(description)"
        }
    }

    func failureReason(missing slot: AttributeSlot) -> String {
        "\(id) could not be evaluated because the request has no \(slot.path), so it counts as a forbid (fail closed)"
    }
}
