import Foundation

/// Filters for reading the trail; times are half-open, `since` included and `until` excluded.
public struct AuditLogFilter: Sendable {
    public var since: Date?
    public var until: Date?
    public var staffName: String?
    public var action: String?
    public var limit: Int?

    public init(since: Date? = nil, until: Date? = nil, staffName: String? = nil, action: String? = nil, limit: Int? = nil) {
        self.since = since
        self.until = until
        self.staffName = staffName
        self.action = action
        self.limit = limit
    }
}
