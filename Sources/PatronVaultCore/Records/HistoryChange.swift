/// What a patron's history request did: the preference now in force and how many returned loans
/// were destroyed with their keys (the anonymous statistics are never touched).
public struct HistoryChange: Sendable, Equatable, Codable {
    public let history: HistoryPreference
    public let purged: Int
    /// False when a key's deletion is still queued (another process held the key store's
    /// journal); the next operation or maintenance pass finishes it.
    public let shredsComplete: Bool
}
