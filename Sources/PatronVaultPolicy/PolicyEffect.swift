/// What a rule asks for. There is deliberately no third value and no default: a rule without an
/// effect does not load (Casbin treats a missing effect as allow; PatronVault never does).
public enum PolicyEffect: String, Sendable, CaseIterable {
    case permit
    case forbid
}
