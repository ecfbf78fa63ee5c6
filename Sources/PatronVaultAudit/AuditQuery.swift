import Foundation
import GRDB

/// Reads entries back in sequence order, for staff oversight ("what did this account do"),
/// for a patron's own view ("who looked at my record, when, and why"), and for paging through
/// the trail. `since` is inclusive and `until` exclusive.
public struct AuditQuery: Sendable, Equatable {
    public var since: Date?
    public var until: Date?
    /// A staff id, or a patron pseudonym for what a patron did themselves.
    public var principalID: String?
    public var action: String?
    /// Entries concerning this patron pseudonym.
    public var patron: String?
    /// Only entries after this sequence number, to continue from a previous page.
    public var afterSequence: Int64?
    public var limit: Int?

    public init(
        since: Date? = nil,
        until: Date? = nil,
        principalID: String? = nil,
        action: String? = nil,
        patron: String? = nil,
        afterSequence: Int64? = nil,
        limit: Int? = nil
    ) {
        self.since = since
        self.until = until
        self.principalID = principalID
        self.action = action
        self.patron = patron
        self.afterSequence = afterSequence
        self.limit = limit
    }

    /// Everything recorded about one patron's data: who accessed it, when, for what stated
    /// purpose, and whether it was permitted. This is what a patron's "who looked at my record"
    /// request shows.
    public static func concerning(patron: String, since: Date? = nil, until: Date? = nil, limit: Int? = nil) -> AuditQuery {
        AuditQuery(since: since, until: until, patron: patron, limit: limit)
    }

    public func entries(in db: Database) throws -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let since {
            conditions.append("time >= ?")
            arguments += [try since.auditMicroseconds()]
        }
        if let until {
            conditions.append("time < ?")
            arguments += [try until.auditMicroseconds()]
        }
        if let principalID {
            conditions.append("principal_id = ?")
            arguments += [principalID]
        }
        if let action {
            conditions.append("action = ?")
            arguments += [action]
        }
        if let patron {
            conditions.append("patron = ?")
            arguments += [patron]
        }
        if let afterSequence {
            conditions.append("seq > ?")
            arguments += [afterSequence]
        }
        var sql = "SELECT \(AuditTrail.entryColumns) FROM audit_entry"
        if !conditions.isEmpty {
            sql += " WHERE " + conditions.joined(separator: " AND ")
        }
        sql += " ORDER BY seq"
        if let limit {
            sql += " LIMIT ?"
            arguments += [max(limit, 0)]
        }
        let statement = try db.cachedStatement(sql: sql)
        return try Row.fetchAll(statement, arguments: arguments).map(AuditEntry.init(row:))
    }
}

extension AuditEntry {
    /// Decodes a row selected with `AuditTrail.entryColumns`. Values are taken as stored; use the
    /// verifier to learn whether they can be trusted.
    init(row: Row) {
        let ruleIDs: String = row[10]
        self.init(
            sequence: row[0], time: Date(auditMicroseconds: row[1]), principalKind: row[2], principalID: row[3],
            principalRole: row[4], action: row[5], resourceKind: row[6], patron: row[7], purpose: row[8],
            decision: AuditDecision(rawValue: row[9]) ?? .forbid,
            ruleIDs: ruleIDs.isEmpty ? [] : ruleIDs.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
            policyDigest: row[11], frontEnd: row[12], keyVersion: row[13], detail: row[14])
    }
}
