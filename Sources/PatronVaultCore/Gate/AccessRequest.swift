/// An action-level question the gate decides before any lookup that depends on patron data:
/// who asks, to do what, to which kind of record, in which state, and why. The patron is named
/// only when it is known without a lookup (a patron acting on their own record).
struct AccessRequest: Sendable {
    let action: AccessAction
    let resource: ResourceKind
    var patron: PatronPseudonym?
    var state: String?
    var purpose: String?

    init(_ action: AccessAction, _ resource: ResourceKind, patron: PatronPseudonym? = nil, state: RecordState? = nil, purpose: String? = nil) {
        self.action = action
        self.resource = resource
        self.patron = patron
        self.state = state?.name
        self.purpose = purpose
    }
}
