import Foundation
import PatronVaultPolicy

/// The library's privacy notice, generated from the rules the vault enforces, so what a patron
/// reads is the policy applied to them and cannot drift from it. Every sentence about who may do
/// what comes from a rule: its quoted description, with the roles, purposes, fields and periods
/// the rule itself states. What the vault does regardless of the rules (encryption, what it
/// stores) is stated once, as the vault's own facts. A rule the generator cannot place is quoted
/// as written.
public struct PrivacyNotice: Sendable, Equatable, Codable {
    public let title: String
    /// The digest `policy check` prints and every audit entry carries.
    public let policyDigest: String
    /// The day the notice was generated.
    public let generated: CalendarDay
    public let stored: Stored
    public let views: [View]
    public let neverSeen: [Statement]
    public let otherPermissions: [Statement]
    public let retention: [Retention]
    public let notGoverned: [String]
    public let statistics: String
    public let rights: [Right]
    /// The patron rules those rights come from, quoted.
    public let rightsRules: [Statement]
    public let legalOrders: LegalOrders
    /// Rules the generator could not put in words, quoted as written.
    public let verbatim: [VerbatimRule]

    /// What the vault keeps about a patron, and what never lies in its files in the clear.
    public struct Stored: Sendable, Equatable, Codable {
        public let registration: [String]
        public let kept: [String]
        public let neverInTheClear: String
    }

    /// A sentence taken from one rule, and who it binds.
    public struct Statement: Sendable, Equatable, Codable {
        public let rule: String
        public let description: String
        public let roles: [String]
    }

    /// What a purpose shows, from one permit rule with `reveals:`.
    public struct View: Sendable, Equatable, Codable {
        public let rule: String
        public let description: String
        public let roles: [String]
        /// Nil when the rule's condition names no purpose plainly.
        public let purposes: [String]?
        /// The fields, in words, without repeats, in the schema's order.
        public let sees: [String]
    }

    public struct Retention: Sendable, Equatable, Codable {
        public let rule: String
        public let description: String
        /// `history`, `held-loans`, …
        public let records: String
        /// In words: "3 years".
        public let period: String
        /// "Reading history you chose to keep is destroyed (their keys shredded) 3 years after each loan was returned."
        public let sentence: String
    }

    public struct Right: Sendable, Equatable, Codable {
        /// The action a patron rule permits, such as `export.read`.
        public let action: String
        public let right: String
        public let how: String
        /// The rules that grant it.
        public let rules: [String]
    }

    public struct LegalOrders: Sendable, Equatable, Codable {
        public let statements: [Statement]
        public let process: [String]
    }

    public struct VerbatimRule: Sendable, Equatable, Codable {
        public let rule: String
        public let file: String
        public let line: Int
        public let text: String
    }
}

extension PrivacyNotice {
    static let readActions: Set<String> = ["patron.read", "patron.find", "loan.read-open", "loan.read-held"]
    static let legalOrderActions: Set<String> = ["legal-order.file", "legal-order.approve", "legal-order.disclose", "legal-order.read"]

    /// Builds the notice from a loaded rule set. `today` dates it.
    public init(policies: PolicySet, today: CalendarDay, title: String = "How the library handles your records") {
        self.title = title
        policyDigest = policies.digest
        generated = today
        let rules = policies.rules

        stored = Stored(
            registration: [
                "name", "card number", "email", "phone (if given)", "postal address (if given)", "birth date (if given)", "home branch",
                "category", "card expiry", "the channel you chose for hold notices", "whether you keep your reading history",
                "the day you registered", "your PIN, only as an Argon2id hash that cannot be turned back into the PIN",
            ],
            kept: [
                "the items you have out, with their due dates",
                "the items you returned, only if you chose to keep your reading history (you may choose keep or discard at any time)",
                "an item returned with a fee, while the fee is owed and afterwards for as long as the retention rules below say",
                "a record of every request about your account: who asked, when, for which purpose, whether it was allowed, and which fields were shown (never their values); checkouts and returns are recorded too, never with the item or title",
                "failed sign-ins with your card, and whether it is locked",
            ],
            neverInTheClear: "Each record is encrypted under its own key, and your key under the library's master key. The vault's files hold no name, card number, email or title in the clear; cards, emails and names are found through keyed fingerprints that reveal none of them. When a record is destroyed, its key is destroyed: no copy of the record can be read again once the key-store backups made before that day have expired, which the library's backup rule keeps short.")

        var views: [View] = []
        var neverSeen: [Statement] = []
        var other: [Statement] = []
        var patronRules: [Statement] = []
        var legal: [Statement] = []
        var rights: [String: (right: String, how: String, rules: [String])] = [:]
        var verbatim: [VerbatimRule] = []
        for rule in rules {
            let actions = Set(rule.actions)
            let statement = Statement(rule: rule.id, description: rule.description, roles: rule.roles)
            let patronOnly = rule.roles == ["patron"]
            if rule.actions == ["any"], rule.effect == .permit {
                verbatim.append(VerbatimRule(rule: rule.id, file: rule.file, line: rule.line, text: rule.source))
            } else if rule.effect == .forbid {
                neverSeen.append(statement)
            } else if !actions.isDisjoint(with: Self.legalOrderActions) {
                legal.append(statement)
            } else if patronOnly {
                for action in rule.actions {
                    guard let (right, how) = Self.patronRights[action] else { continue }
                    rights[action, default: (right, how, [])].rules.append(rule.id)
                }
                patronRules.append(statement)
            } else if !rule.reveals.isEmpty {
                let names = rule.reveals
                var sees: [String] = []
                for field in ViewField.allCases where names.contains(field.schemaName) && !sees.contains(field.detailedPhrase) {
                    sees.append(field.detailedPhrase)
                }
                views.append(View(rule: rule.id, description: rule.description, roles: rule.roles, purposes: rule.purposes, sees: sees))
            } else if !actions.isDisjoint(with: Self.readActions) {
                // A staff read the rule permits without saying what it shows: quoted, not guessed.
                verbatim.append(VerbatimRule(rule: rule.id, file: rule.file, line: rule.line, text: rule.source))
            } else {
                other.append(statement)
            }
        }
        self.views = views
        self.neverSeen = neverSeen
        otherPermissions = other
        rightsRules = patronRules
        self.rights = Self.patronRights.keys.sorted().compactMap { action in
            rights[action].map { Right(action: action, right: $0.right, how: $0.how, rules: $0.rules) }
        }
        self.verbatim = verbatim

        let schedule = policies.retention.rules
        retention = schedule.map { rule in
            Retention(
                rule: rule.id, description: rule.description, records: rule.records.rawValue, period: rule.period.description,
                sentence: Self.retentionSentence(rule))
        }
        notGoverned = RetentionRule.Records.allCases.filter { kind in !schedule.contains { $0.records == kind } }.map { Self.recordsPhrase($0) + " are kept until a person removes them" }
        let statisticsRule = schedule.first { $0.records == .statistics }
        statistics = "When an item comes back, the vault counts the return by item, branch and month, with nothing about who borrowed it. Once a loan is destroyed, these anonymous counts and the audit entries saying that a checkout and a return happened (without the item or title) are all that remain of it."
            + (statisticsRule.map { " Monthly counts become yearly ones \($0.period) after the month ends." } ?? "")
        legalOrders = LegalOrders(
            statements: legal,
            process: legal.isEmpty ? ["No rule in force lets anyone file, approve or disclose under a legal order, so the vault discloses nothing under one."] : [
                "A legal order (a subpoena, warrant or court order) is filed by the library's privacy officer, naming one patron, what it covers (reading history, registration, or both), a window of days and an expiry.",
                "A second person, never the one who filed it, must approve it before anything is read.",
                "It is used once, before it expires, and only what its scope and window cover is disclosed.",
                "Each step is recorded, and the disclosure appears in your list of accesses. A court may delay that notice to a stated day; from that day you see it.",
            ])
    }

    /// Patron actions, what they give, and how to use them. A right is listed only when a rule
    /// in force grants it.
    static let patronRights: [String: (String, String)] = [
        "patron.read": ("See your registration, the items you have out and any fees owed", "the library's web page (/account), or `patronvault me show`"),
        "audit.read-own": ("See every staff request about your account and what it showed, and every failed sign-in with your card", "the web page, or `patronvault me accesses`"),
        "export.read": ("Take a complete, signed copy of everything the vault holds about you", "the web page's download, or `patronvault me export`"),
        "history.read": ("Read your own reading history, if you keep it", "the web page, or `patronvault me history`"),
        "history.purge": ("Destroy your reading history at once", "the web page, or `patronvault me purge-history`"),
        "history.set-preference": ("Choose whether returned items are kept as your history (keep) or destroyed (discard)", "the web page, or `patronvault me set-history keep|discard`"),
        "patron.change-pin": ("Change your PIN", "the web page, or `patronvault me change-pin`"),
        "patron.erase": ("Erase your account: every record and key destroyed, with a signed receipt", "the web page, or `patronvault me erase`"),
    ]

    static func recordsPhrase(_ records: RetentionRule.Records) -> String {
        switch records {
        case .history: "Reading history you chose to keep"
        case .heldLoans: "Returned items held only because a fee was owed"
        case .expiredAccounts: "Accounts whose card expired and that nobody has used"
        case .signInFailures: "Failed PIN attempts and lockouts"
        case .statistics: "Anonymous monthly return counts"
        }
    }

    static func retentionSentence(_ rule: RetentionRule) -> String {
        let counted: String
        switch rule.records {
        case .history: counted = "after each item was returned"
        case .heldLoans: counted = "after the fee was paid or waived"
        case .expiredAccounts: counted = "after both the card's expiry and the last thing you did, unless something is still out or a fee is owed"
        case .signInFailures: counted = "after the last failed attempt"
        case .statistics: counted = "after the month ends"
        }
        return "\(recordsPhrase(rule.records)): \(rule.records.effect) \(rule.period) \(counted)."
    }
}

extension ViewField {
    /// The field as a notice names it, masked forms said as such.
    var detailedPhrase: String {
        switch self {
        case .openLoanItem: "items you have out"
        case .openLoanDue: "their due dates"
        case .openLoanTitle: "their titles"
        case .openLoanAuthor: "their authors"
        case .openLoanBranch: "the branch that lent them"
        case .openLoanCheckedOut: "when you borrowed them"
        case .overdueLoanItem: "overdue items"
        case .overdueLoanDue: "when overdue items were due"
        case .feeItem: "items with a fee owed"
        case .feeDue: "when they were due"
        case .feeReturned: "when they came back"
        case .feeAmount: "the amount owed"
        case .contact: "the one contact you chose for notices"
        default: phrase
        }
    }
}
