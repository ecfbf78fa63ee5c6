import Foundation
import NIOCore
import PatronVaultAudit
import PatronVaultCore
import PostgresNIO

/// The audit trail's tables in the records database. An append locks the one state row
/// (`FOR UPDATE`) until its transaction ends, so every daemon on the database extends one chain,
/// in the order their transactions commit; the chain itself is computed by `AuditTrail.extend`,
/// byte for byte as on SQLite.
enum PostgresAudit {
    static let entryColumns = """
        seq, time, principal_kind, principal_id, principal_role, action, resource_kind, patron, purpose, \
        decision, rule_ids, policy_digest, front_end, key_version, detail
        """

    static let lockStatement: PreparedSQL = "SELECT size, frontier, last_mac, last_time, change_mark FROM audit_state WHERE id = 1 FOR UPDATE"

    /// Counts one more committed transaction that changed rows (`RecordReader.changeMark`).
    static let bumpChangeMark: PreparedSQL = "UPDATE audit_state SET change_mark = change_mark + 1 WHERE id = 1"

    /// The change mark from the rows `lockStatement` answered.
    static func lockedMark(_ rows: [PostgresRow]) throws -> Int64 {
        guard let row = rows.first else { throw AuditError.stateMissing }
        return try row.makeRandomAccess().int64(4)
    }

    /// Reads the state row and holds its lock until the transaction ends.
    static func lockState(in session: PostgresSession) throws -> (state: AuditTrailState, changeMark: Int64) {
        let rows = try session.query(prepared: lockStatement)
        return (try lockedState(rows), try lockedMark(rows))
    }

    /// The state from the rows `lockStatement` answered.
    static func lockedState(_ rows: [PostgresRow]) throws -> AuditTrailState {
        guard let row = rows.first else { throw AuditError.stateMissing }
        return try state(row.makeRandomAccess())
    }

    /// The state row as stored, without a lock (for verification); nil when missing or malformed.
    static func readState(in session: PostgresSession) throws -> AuditTrailState? {
        guard let row = try session.query("SELECT size, frontier, last_mac, last_time FROM audit_state WHERE id = 1").first else { return nil }
        return try? state(row.makeRandomAccess())
    }

    private static func state(_ cells: PostgresRandomAccessRow) throws -> AuditTrailState {
        try AuditTrailState(size: try cells.int64(0), frontier: try cells.bytes(1), lastMAC: try cells.bytes(2), lastTime: try cells.int64(3))
    }

    static func write(_ state: AuditTrailState, in session: PostgresSession) throws {
        try session.execute(writeStatement(state))
    }

    static func writeStatement(_ state: AuditTrailState) -> PostgresQuery {
        """
        UPDATE audit_state SET size = \(state.size), frontier = \(state.frontier.bytea), last_mac = \(state.lastMAC.bytea), last_time = \(state.lastTime)
        WHERE id = 1
        """
    }

    /// The rows and the state row in one statement (the insert as a data-modifying WITH), so a
    /// commit costs one statement for the trail.
    static func appendStatement(_ rows: [AuditStoredRow], state: AuditTrailState) -> PostgresStatement {
        let values = insertValues(rows) + [PostgresData(int64: state.size), state.frontier.byteaValue, state.lastMAC.byteaValue, PostgresData(int64: state.lastTime)]
        return .prepared(appendSQL, values)
    }

    private static let appendSQL = PreparedSQL("""
        WITH inserted AS (\(insertSQL.text))
        UPDATE audit_state SET size = $20, frontier = $21, last_mac = $22, last_time = $23 WHERE id = 1
        """)

    static func insert(_ rows: [AuditStoredRow], in session: PostgresSession) throws {
        guard !rows.isEmpty else { return }
        do {
            _ = try session.pipeline([insertStatement(rows)])[0].get()
        } catch {
            throw insertFailure(error, rows: rows)
        }
    }

    /// All rows in one statement, each column an array.
    static func insertStatement(_ rows: [AuditStoredRow]) -> PostgresStatement {
        .prepared(insertSQL, insertValues(rows))
    }

    /// NULL texts (patron, purpose, detail) travel as a flag beside an empty text, so every
    /// array is of one type without NULLs in it.
    private static let insertSQL = PreparedSQL("""
        INSERT INTO audit_entry (\(entryColumns), mac)
        SELECT seq, time, principal_kind, principal_id, principal_role, action, resource_kind,
            CASE WHEN has_patron THEN patron END, CASE WHEN has_purpose THEN purpose END, decision, rule_ids, policy_digest, front_end,
            key_version, CASE WHEN has_detail THEN detail END, mac
        FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[],
            $10::text[], $11::boolean[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::boolean[],
            $19::bytea[])
            AS d(seq, time, principal_kind, principal_id, principal_role, action, resource_kind, patron, has_patron, purpose, has_purpose,
                decision, rule_ids, policy_digest, front_end, key_version, detail, has_detail, mac)
        """)

    /// `insertSQL`'s 19 values for `rows`.
    private static func insertValues(_ rows: [AuditStoredRow]) -> [PostgresData] {
        func array(_ values: [PostgresData], of type: PostgresDataType) -> PostgresData { PostgresData(array: values, elementType: type) }
        func texts(_ index: Int) -> PostgresData { array(rows.map { PostgresData(string: $0.texts[index] ?? "") }, of: .text) }
        func present(_ index: Int) -> PostgresData { array(rows.map { PostgresData(bool: $0.texts[index] != nil) }, of: .bool) }
        return [
            array(rows.map { PostgresData(int64: $0.sequence) }, of: .int8), array(rows.map { PostgresData(int64: $0.time) }, of: .int8),
            texts(0), texts(1), texts(2), texts(3), texts(4), texts(5), present(5), texts(6), present(6), texts(7), texts(8), texts(9), texts(10),
            array(rows.map { PostgresData(int64: $0.keyVersion) }, of: .int8), array(rows.map { PostgresData(string: $0.detail ?? "") }, of: .text),
            array(rows.map { PostgresData(bool: $0.detail != nil) }, of: .bool), array(rows.map { ($0.mac ?? []).byteaValue }, of: .bytea),
        ]
    }

    /// A row already at one of these sequence numbers means the state row was set back: an
    /// integrity failure, not a storage one. The insert fails (and with it the transaction)
    /// instead of skipping the row, so a COMMIT sent after it can never keep half of a group.
    static func insertFailure(_ error: any Error, rows: [AuditStoredRow]) -> any Error {
        if PostgresFailure.sqlState(of: error) == "23505" {
            return AuditError.stateOutOfStep(rows[0].sequence)
        }
        return error
    }

    /// Keeps `checkpoint` unless one covers its size already; a second with another root is a
    /// conflict, as on SQLite.
    static func store(_ checkpoint: AuditCheckpoint, in session: PostgresSession) throws -> AuditCheckpoint {
        if let existing = try checkpoints(where: "WHERE size = \(checkpoint.size)", in: session).first {
            guard existing.rootHash == checkpoint.rootHash else { throw AuditError.checkpointConflict(checkpoint.size) }
            return existing
        }
        try session.execute("""
            INSERT INTO audit_checkpoint (size, root, time, key_id, signature)
            VALUES (\(checkpoint.size), \(checkpoint.rootHash.bytea), \(checkpoint.storedMicroseconds), \(checkpoint.keyID.bytea), \(checkpoint.signature.bytea))
            """)
        return checkpoint
    }

    static func checkpoints(where condition: String, in session: PostgresSession) throws -> [AuditCheckpoint] {
        try session.query(PostgresQuery(unsafeSQL: "SELECT size, root, time, key_id, signature FROM audit_checkpoint \(condition) ORDER BY size")).map { row in
            let cells = row.makeRandomAccess()
            return AuditCheckpoint(
                storedSize: try cells.int64(0), rootHash: try cells.bytes(1), microseconds: try cells.int64(2), keyID: try cells.bytes(3),
                signature: try cells.bytes(4))
        }
    }

    static func entries(_ query: AuditQuery, in session: PostgresSession) throws -> [AuditEntry] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func add(_ condition: String, _ bind: (inout PostgresBindings) -> Void) {
            bind(&binds)
            conditions.append(condition.replacingOccurrences(of: "?", with: "$\(binds.count)"))
        }
        if let since = query.since { let time = try since.auditTime(); add("time >= ?") { $0.append(time) } }
        if let until = query.until { let time = try until.auditTime(); add("time < ?") { $0.append(time) } }
        if let principal = query.principalID { add("principal_id = ?") { $0.append(principal) } }
        if let action = query.action { add("action = ?") { $0.append(action) } }
        if let patron = query.patron { add("patron = ?") { $0.append(patron) } }
        if let after = query.afterSequence { add("seq > ?") { $0.append(after) } }
        var sql = "SELECT \(entryColumns), NULL::bytea FROM audit_entry"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY seq"
        if let limit = query.limit {
            binds.append(Int64(max(limit, 0)))
            sql += " LIMIT $\(binds.count)"
        }
        return try session.query(PostgresQuery(unsafeSQL: sql, binds: binds)).map { try storedRow($0.makeRandomAccess()).entry }
    }

    /// Distinct pseudonyms of permitted entries matching one column, in [since, until).
    static func patrons(column: String, text: String?, keyVersion: Int64?, since: Date?, until: Date?, in session: PostgresSession) throws -> [String] {
        var binds = PostgresBindings()
        if let text { binds.append(text) } else { binds.append(keyVersion ?? 0) }
        binds.append(try since?.auditTime() ?? Int64.min)
        binds.append(try until?.auditTime() ?? Int64.max)
        return try session.query(PostgresQuery(unsafeSQL: """
            SELECT DISTINCT patron FROM audit_entry
            WHERE \(column) = $1 AND patron IS NOT NULL AND decision = 'permit' AND time >= $2 AND time < $3
            ORDER BY patron
            """, binds: binds)).map { try $0.makeRandomAccess().string(0) }
    }

    /// Rows as stored: columns 0–14 as `entryColumns`, then the MAC (NULL when not selected).
    static func storedRow(_ cells: PostgresRandomAccessRow) throws -> AuditStoredRow {
        var texts: [String?] = []
        texts.reserveCapacity(AuditStoredRow.textColumnCount)
        for index in 2...12 { texts.append(cells[index].bytes == nil ? nil : try cells.string(index)) }
        return AuditStoredRow(
            sequence: try cells.int64(0), time: try cells.int64(1), texts: texts, keyVersion: try cells.int64(13),
            detail: cells[14].bytes == nil ? nil : try cells.string(14), mac: try cells.optionalBytes(15))
    }

    /// Recomputes the trail from one snapshot (the caller's transaction), reading the entries
    /// in pages so the trail is never held in memory whole.
    static func verify(with verifier: AuditVerifier, against external: AuditCheckpoint?, in session: PostgresSession) throws -> AuditVerification {
        let checkpoints = try checkpoints(where: "", in: session)
        let state = try readState(in: session)
        var page: [AuditStoredRow] = []
        var position = 0
        var last: Int64 = 0
        var exhausted = false
        let pageSize: Int64 = 20_000
        return try verifier.verify(
            checkpoints: checkpoints,
            nextRow: {
                if position == page.count {
                    guard !exhausted else { return nil }
                    page = try session.query("""
                        SELECT \(unescaped: entryColumns), mac FROM audit_entry WHERE seq > \(last) ORDER BY seq LIMIT \(pageSize)
                        """).map { try storedRow($0.makeRandomAccess()) }
                    position = 0
                    exhausted = page.count < pageSize
                    guard let final = page.last else { return nil }
                    last = final.sequence
                }
                position += 1
                return page[position - 1]
            }, state: state, against: external)
    }
}
