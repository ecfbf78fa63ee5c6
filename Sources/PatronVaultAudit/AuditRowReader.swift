import GRDB
import GRDBSQLite

/// The verifier's reading side: checks what can be checked on a row alone (sequence, column
/// types, canonical values, times never decreasing) and appends its leaf encoding and stored MAC
/// to a batch for the hashing side.
struct AuditRowReader {
    let checksMAC: Bool
    private(set) var count: Int64 = 0
    private var previousTime = Int64.min

    init(checksMAC: Bool) {
        self.checksMAC = checksMAC
    }

    /// Reads the row the statement is positioned on into the batch, or returns what is wrong
    /// with it: the entry it names and a sentence.
    mutating func read(_ raw: SQLiteStatement, into batch: AuditVerifierBatch) -> (sequence: Int64, problem: String)? {
        let expected = count + 1
        guard sqlite3_column_type(raw, 0) == SQLITE_INTEGER else {
            return (expected, "Entry \(expected) has a sequence number that is not an integer.")
        }
        let sequence = sqlite3_column_int64(raw, 0)
        guard sequence == expected else {
            if sequence > expected {
                return (expected, "Entry \(expected) is missing; the next entry is \(sequence).")
            }
            return (sequence, "Entry \(sequence) appears where entry \(expected) should be.")
        }
        guard sqlite3_column_type(raw, 1) == SQLITE_INTEGER, sqlite3_column_type(raw, 13) == SQLITE_INTEGER else {
            return (sequence, "Entry \(sequence) has a time or key version that is not an integer.")
        }
        let time = sqlite3_column_int64(raw, 1)
        guard time >= previousTime else {
            return (sequence, "Entry \(sequence) is dated earlier than the entry before it.")
        }

        let detailType = sqlite3_column_type(raw, 14)
        guard detailType == SQLITE_NULL || detailType == SQLITE_TEXT else {
            return (sequence, "Entry \(sequence) has a field stored with the wrong type.")
        }
        let detail = detailType == SQLITE_TEXT ? Self.bytes(raw, 14) : nil
        if let detail, detail.isEmpty {
            return (sequence, "Entry \(sequence) has an empty detail, which the vault never writes.")
        }
        let start = batch.encoder.count
        batch.encoder.beginEntry(
            sequence: sequence, time: time, version: detail == nil ? AuditLeafEncoder.formatVersion : AuditLeafEncoder.detailFormatVersion)
        for column: Int32 in 2...12 {
            let isOptional = column == 7 || column == 8
            let type = sqlite3_column_type(raw, column)
            if isOptional, type == SQLITE_NULL {
                batch.encoder.appendOptionalText(nil as UnsafeRawBufferPointer?)
                continue
            }
            guard type == SQLITE_TEXT else {
                return Self.abandon(batch, at: start, (sequence, "Entry \(sequence) has a field stored with the wrong type."))
            }
            let text = Self.bytes(raw, column)
            if column == 9, !Self.isDecision(text) {
                return Self.abandon(batch, at: start, (sequence, "Entry \(sequence) has a decision other than permit or forbid."))
            }
            if column == 10, !Self.isCanonicalRuleList(text) {
                return Self.abandon(batch, at: start, (sequence, "Entry \(sequence) has a rule list that is not in canonical form."))
            }
            if isOptional {
                batch.encoder.appendOptionalText(text)
            } else {
                batch.encoder.appendText(text)
            }
        }
        batch.encoder.append(sqlite3_column_int64(raw, 13))
        if let detail { batch.encoder.appendText(detail) }
        let leafEnd = batch.encoder.count

        if checksMAC {
            guard sqlite3_column_type(raw, 15) == SQLITE_BLOB else {
                return Self.abandon(batch, at: start, (sequence, "Entry \(sequence) has no MAC."))
            }
            batch.encoder.appendRaw(Self.bytes(raw, 15))
        }
        batch.finishEntry(leafEnd: leafEnd, time: time)
        count = sequence
        previousTime = time
        return nil
    }

    /// The same for a row a store other than SQLite read: its schema types the columns, so only
    /// absent values, sequence, order and canonical forms are checked here.
    mutating func read(_ row: AuditStoredRow, into batch: AuditVerifierBatch) -> (sequence: Int64, problem: String)? {
        let expected = count + 1
        let sequence = row.sequence
        guard sequence == expected else {
            if sequence > expected {
                return (expected, "Entry \(expected) is missing; the next entry is \(sequence).")
            }
            return (sequence, "Entry \(sequence) appears where entry \(expected) should be.")
        }
        guard row.time >= previousTime else {
            return (sequence, "Entry \(sequence) is dated earlier than the entry before it.")
        }
        if let detail = row.detail, detail.isEmpty {
            return (sequence, "Entry \(sequence) has an empty detail, which the vault never writes.")
        }
        guard row.texts.count == AuditStoredRow.textColumnCount else {
            return (sequence, "Entry \(sequence) has a field stored with the wrong type.")
        }
        let start = batch.encoder.count
        batch.encoder.beginEntry(
            sequence: sequence, time: row.time, version: row.detail == nil ? AuditLeafEncoder.formatVersion : AuditLeafEncoder.detailFormatVersion)
        for (index, text) in row.texts.enumerated() {
            let isOptional = index == 5 || index == 6
            guard var text else {
                guard isOptional else {
                    return Self.abandon(batch, at: start, (sequence, "Entry \(sequence) has a field stored with the wrong type."))
                }
                batch.encoder.appendOptionalText(nil as UnsafeRawBufferPointer?)
                continue
            }
            let failure: (sequence: Int64, problem: String)? = text.withUTF8 { bytes in
                let raw = UnsafeRawBufferPointer(bytes)
                if index == 7, !Self.isDecision(raw) { return (sequence, "Entry \(sequence) has a decision other than permit or forbid.") }
                if index == 8, !Self.isCanonicalRuleList(raw) { return (sequence, "Entry \(sequence) has a rule list that is not in canonical form.") }
                if isOptional {
                    batch.encoder.appendOptionalText(raw)
                } else {
                    batch.encoder.appendText(raw)
                }
                return nil
            }
            if let failure { return Self.abandon(batch, at: start, failure) }
        }
        batch.encoder.append(row.keyVersion)
        if var detail = row.detail { detail.withUTF8 { batch.encoder.appendText(UnsafeRawBufferPointer($0)) } }
        let leafEnd = batch.encoder.count
        if checksMAC {
            guard let mac = row.mac else {
                return Self.abandon(batch, at: start, (sequence, "Entry \(sequence) has no MAC."))
            }
            mac.withUnsafeBytes { batch.encoder.appendRaw($0) }
        }
        batch.finishEntry(leafEnd: leafEnd, time: row.time)
        count = sequence
        previousTime = row.time
        return nil
    }

    /// Drops a half-written entry so the batch ends with the last good one.
    private static func abandon(
        _ batch: AuditVerifierBatch, at start: Int, _ failure: (sequence: Int64, problem: String)
    ) -> (sequence: Int64, problem: String) {
        batch.encoder.truncate(to: start)
        return failure
    }

    static func bytes(_ raw: SQLiteStatement, _ column: Int32) -> UnsafeRawBufferPointer {
        let base = sqlite3_column_blob(raw, column)
        let count = Int(sqlite3_column_bytes(raw, column))
        return UnsafeRawBufferPointer(start: base, count: count)
    }

    static func isDecision(_ text: UnsafeRawBufferPointer) -> Bool {
        text.elementsEqual(AuditDecision.permit.rawValue.utf8) || text.elementsEqual(AuditDecision.forbid.rawValue.utf8)
    }

    /// Comma-joined non-empty ids: no leading, trailing or doubled comma.
    static func isCanonicalRuleList(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let first = text.first, let last = text.last else { return true }
        guard first != AuditLeafEncoder.ruleSeparator, last != AuditLeafEncoder.ruleSeparator else { return false }
        var previous: UInt8 = 0
        for byte in text {
            if byte == AuditLeafEncoder.ruleSeparator, previous == byte { return false }
            previous = byte
        }
        return true
    }
}
