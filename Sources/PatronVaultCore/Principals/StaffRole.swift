/// Staff roles; what each may do is decided by the policy gate, not by the role itself.
public enum StaffRole: String, Sendable, CaseIterable {
    case staff
    case admin
    case privacyOfficer = "privacy-officer"
}
