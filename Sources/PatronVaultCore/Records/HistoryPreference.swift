/// Whether returned loans are kept as reading history. History is opt-in (ALA guidelines):
/// `discard` is the default and destroys a loan record when the item comes back.
public enum HistoryPreference: String, Sendable, CaseIterable {
    case keep
    case discard
}

/// Encoded as `keep` or `discard`, the words a patron chose.
extension HistoryPreference: Codable {}
