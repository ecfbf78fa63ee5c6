/// How a patron asked to be told a hold is ready: what the holds desk needs of their contact
/// details, and all it sees of them. A patron who chose nothing is told by email, the one
/// contact every registration has.
public enum NotificationChannel: String, Sendable, CaseIterable, Codable {
    case email
    case phone
    case post
}
