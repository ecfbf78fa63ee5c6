/// A deny-by-default rule table kept in one place until the policy engine replaces it.
struct BuiltInAccessRules: AccessGate {
    var digest: String { "built-in-rules-v1" }

    private static let patronOwn: Set<AccessAction> = [
        .patronRead, .loanReadOpen, .historyRead, .historyPurge, .historySetPreference, .exportRead, .auditReadOwn,
    ]
    private static let anyStaff: Set<AccessAction> = [
        .patronRegister, .patronRead, .patronFind, .patronUpdate, .loanCheckout, .loanReturn, .loanReadOpen, .statsRead, .policyRead,
    ]
    private static let admin: Set<AccessAction> = [.staffManage, .retentionManage, .keysManage, .auditRead, .auditVerify, .auditKey, .auditExposure]
    private static let privacyOfficer: Set<AccessAction> = [.legalOrderFile, .auditRead, .auditVerify, .auditKey, .auditExposure]

    func decide(_ query: AccessQuery) -> AccessVerdict {
        let principal = query.principal
        switch principal.kind {
        case .patron:
            if Self.patronOwn.contains(query.action), let own = principal.pseudonym, own == query.patron {
                return AccessVerdict(permitted: true, ruleIDs: ["patron-own-data"], reason: "patrons read and control their own data")
            }
        case .staff:
            if Self.anyStaff.contains(query.action) {
                return AccessVerdict(permitted: true, ruleIDs: ["staff-circulation"], reason: "staff handle registration and open loans")
            }
            if principal.role == .admin, Self.admin.contains(query.action) {
                return AccessVerdict(permitted: true, ruleIDs: ["admin-operations"], reason: "admins manage staff, retention and keys")
            }
            if principal.role == .privacyOfficer, Self.privacyOfficer.contains(query.action) {
                return AccessVerdict(permitted: true, ruleIDs: ["privacy-officer"], reason: "privacy officers handle legal orders and the audit trail")
            }
        }
        return AccessVerdict(permitted: false, ruleIDs: [], reason: "no rule permits \(query.action.rawValue) for this principal (deny by default)")
    }
}
