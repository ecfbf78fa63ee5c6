/// Every operation on the vault names one action; the policy gate decides on these names, which
/// are the vocabulary of the files in `Policies/`.
public enum AccessAction: String, Sendable, CaseIterable {
    case patronRegister = "patron.register"
    case patronRead = "patron.read"
    case patronFind = "patron.find"
    case patronUpdate = "patron.update"
    case patronResetPIN = "patron.reset-pin"
    case patronChangePIN = "patron.change-pin"
    /// Not decided by the policies: recorded when a card and PIN fail to sign in.
    case patronSignIn = "patron.sign-in"
    case patronErase = "patron.erase"
    case loanCheckout = "loan.checkout"
    case loanReturn = "loan.return"
    case loanReadOpen = "loan.read-open"
    /// Reading the fees a patron owes on returned loans (a held loan: item, days and amount,
    /// never the title).
    case loanReadHeld = "loan.read-held"
    /// Recording that a fee on a returned loan is paid or waived.
    case loanSettleFee = "loan.settle-fee"
    case historyRead = "history.read"
    case historyPurge = "history.purge"
    case historySetPreference = "history.set-preference"
    case exportRead = "export.read"
    /// Preparing a patron's export sealed under their PIN, at their request: the bundle is made
    /// but whoever asks gets only the sealed file.
    case exportSeal = "export.seal"
    case auditReadOwn = "audit.read-own"
    case auditRead = "audit.read"
    case auditVerify = "audit.verify"
    case auditExposure = "audit.exposure"
    case auditKey = "audit.key"
    case staffManage = "staff.manage"
    case retentionManage = "retention.manage"
    case keysManage = "keys.manage"
    case legalOrderFile = "legal-order.file"
    case legalOrderApprove = "legal-order.approve"
    /// Writing the bundle an approved order covers, which closes the order.
    case legalOrderDisclose = "legal-order.disclose"
    /// Listing orders and their status.
    case legalOrderRead = "legal-order.read"
    case statsRead = "stats.read"
    case policyRead = "policy.read"
}

/// The kind of thing an action touches, as policies name it.
public enum ResourceKind: String, Sendable {
    case registration, loan, history, export, audit, staff, retention, keys, statistics, policy
    case legalOrder = "legal-order"
}
