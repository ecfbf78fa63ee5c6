import Foundation
import GRDB

/// Which patrons an incident could have exposed: after a staff account or a key-encryption key is
/// compromised, these lists say whom to notify. Only permitted operations count, because a
/// forbidden one disclosed nothing; each list holds distinct pseudonyms in ascending order.
public enum AuditExposure {
    /// Patrons whose data the principal accessed in [since, until).
    public static func patrons(touchedBy principalID: String, since: Date?, until: Date?, in db: Database) throws -> [String] {
        try patrons(column: "principal_id", value: principalID.databaseValue, since: since, until: until, in: db)
    }

    /// Patrons whose data was handled while key version `keyVersion` was in force, in [since, until).
    public static func patrons(keyVersion: Int, since: Date?, until: Date?, in db: Database) throws -> [String] {
        try patrons(column: "key_version", value: Int64(keyVersion).databaseValue, since: since, until: until, in: db)
    }

    private static func patrons(column: String, value: DatabaseValue, since: Date?, until: Date?, in db: Database) throws -> [String] {
        let statement = try db.cachedStatement(sql: """
            SELECT DISTINCT patron FROM audit_entry
            WHERE \(column) = ? AND patron IS NOT NULL AND decision = 'permit' AND time >= ? AND time < ?
            ORDER BY patron
            """)
        let lower = try since?.auditMicroseconds() ?? Int64.min
        let upper = try until?.auditMicroseconds() ?? Int64.max
        return try String.fetchAll(statement, arguments: [value, lower, upper])
    }
}
