/// Who is asking. Only the vault creates principals, after checking a staff token or a patron's
/// card and PIN, so a front end cannot act as someone it has not authenticated.
public struct Principal: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case staff
        case patron
    }

    public let kind: Kind
    /// Staff id, or the patron's pseudonym in hex: what the audit trail records.
    public let id: String
    public let role: StaffRole?
    /// The staff member's account name; nil for patrons.
    public let staffName: String?
    let pseudonym: PatronPseudonym?

    static func staff(id: String, name: String, role: StaffRole) -> Principal {
        Principal(kind: .staff, id: id, role: role, staffName: name, pseudonym: nil)
    }

    static func patron(_ pseudonym: PatronPseudonym) -> Principal {
        Principal(kind: .patron, id: pseudonym.description, role: nil, staffName: nil, pseudonym: pseudonym)
    }

    /// The role name used by policies: a staff role, or "patron".
    public var roleName: String { role?.rawValue ?? "patron" }
}
