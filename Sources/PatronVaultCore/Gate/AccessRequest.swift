/// An action-level question the gate decides before any lookup that depends on patron data:
/// who asks, to do what, to which kind of record, in which state, and why. The patron is named
/// only when it is known without a lookup (a patron acting on their own record).
struct AccessRequest: Sendable {
    let action: AccessAction
    let resource: ResourceKind
    var patron: PatronPseudonym?
    var state: String?
    var purpose: String?
    /// The legal order a step belongs to, carried by its audit entry (so the patron's view can
    /// hold it back until the order's notice is due).
    var legalOrder: String?
    /// Whether an approved, unexpired, unused order covers this request: `context.legalOrder`.
    /// Set only by a disclosure, after the order was checked in the same transaction.
    var underApprovedOrder: Bool

    init(
        _ action: AccessAction, _ resource: ResourceKind, patron: PatronPseudonym? = nil, state: RecordState? = nil, purpose: String? = nil,
        legalOrder: String? = nil, underApprovedOrder: Bool = false
    ) {
        self.action = action
        self.resource = resource
        self.patron = patron
        self.state = state?.name
        self.purpose = purpose
        self.legalOrder = legalOrder
        self.underApprovedOrder = underApprovedOrder
    }
}
