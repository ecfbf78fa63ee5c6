import Foundation

/// A date without a time of day, stored as days since 1970-01-01 (UTC). Plaintext columns hold
/// only day-granular dates, so retention can run without revealing when on a day anything happened.
public struct CalendarDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let daysSinceEpoch: Int64

    public init(daysSinceEpoch: Int64) {
        self.daysSinceEpoch = daysSinceEpoch
    }

    public init(_ date: Date) {
        daysSinceEpoch = Int64((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// Parses strict `YYYY-MM-DD`; `field` names the option in the error, never the value.
    public init(parsing text: String, field: String) throws(VaultError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              (1...12).contains(month), day >= 1, day <= CalendarDay.daysIn(month: month, year: year)
        else {
            throw .invalid("\(field) is not a valid date; expected YYYY-MM-DD")
        }
        daysSinceEpoch = CalendarDay.days(year: year, month: month, day: day)
    }

    init(civilYear year: Int, month: Int, day: Int) {
        daysSinceEpoch = CalendarDay.days(year: year, month: month, day: day)
    }

    public func adding(days: Int) -> CalendarDay {
        CalendarDay(daysSinceEpoch: daysSinceEpoch + Int64(days))
    }

    /// `YYYY-MM`, the granularity of anonymous statistics.
    public var month: String {
        String(description.prefix(description.count - 3))
    }

    /// Written digit by digit: a formatter per day was a tenth of a lookup's time in the daemon.
    public var description: String {
        let year = civil.0
        guard (0...9_999).contains(year) else {
            let (y, m, d) = civil
            return String(format: "%04d-%02d-%02d", y, m, d)
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(10)
        bytes.appendISO8601(day: self)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool {
        lhs.daysSinceEpoch < rhs.daysSinceEpoch
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days-from-civil algorithm: exact for the proleptic Gregorian calendar.
    private static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    var civil: (Int, Int, Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }
}

/// Encoded as `YYYY-MM-DD`, the form people and scripts read, not as a day count; decoded from
/// it too, as the CLI reads the daemon's answers.
extension CalendarDay: Codable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let day = try? CalendarDay(parsing: text, field: "day") else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a day (YYYY-MM-DD)")
        }
        self = day
    }
}

extension KeyedDecodingContainer {
    /// An ISO 8601 instant as front ends write them (`Date.formatted(.iso8601)`).
    func instant(_ key: Key) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not an ISO 8601 time")
        }
        return date
    }

    func instantIfPresent(_ key: Key) throws -> Date? {
        try contains(key) ? instant(key) : nil
    }
}
