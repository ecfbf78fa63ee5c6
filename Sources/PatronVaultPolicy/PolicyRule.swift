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
    let file: String
    let line: Int
    let column: Int

    /// Whether the rule's scope covers a request, before its condition is looked at: a
    /// condition is evaluated (and can fail closed) only for requests the rule is about.
    @inline(__always)
    func covers(roleBit: UInt64) -> Bool {
        roles == nil || roleMask & roleBit != 0
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
