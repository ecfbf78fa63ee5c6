import PatronVaultCore

/// The `type` of the daemon's problem documents: one URI per kind of the core's failures, which
/// the daemon writes and the CLI in client mode reads back, so a failure keeps its kind (and its
/// exit code) across the wire. Defined once, for both.
public enum ProblemType {
    public static let base = "https://patronvault.invalid/problems/"

    /// `invalid-input` for `.invalidInput`: the last segment of the kind's URI.
    public static func name(of kind: VaultError.Kind) -> String {
        kind.rawValue.reduce(into: "") { out, character in
            if character.isUppercase { out += "-" }
            out += character.lowercased()
        }
    }

    /// The kind a problem document's type names, if it names one.
    public static func kind(of type: String) -> VaultError.Kind? {
        guard type.hasPrefix(base) else { return nil }
        let name = type.dropFirst(base.count)
        return VaultError.Kind.allCases.first { self.name(of: $0) == name }
    }
}
