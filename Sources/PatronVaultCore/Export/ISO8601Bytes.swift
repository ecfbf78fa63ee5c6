import Foundation

extension Date {
    /// `YYYY-MM-DDTHH:MM:SSZ`, as `formatted(.iso8601)` writes it, without a formatter: answers
    /// carry several instants each.
    var iso8601Text: String {
        guard (0...253_402_300_799).contains(timeIntervalSince1970) else { return formatted(.iso8601) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        bytes.appendISO8601(instant: self)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Days and instants written straight into UTF-8 bytes, as `CalendarDay` and Foundation's
/// `.iso8601` format style print them, without a formatter per value: an export writes tens of
/// thousands of them.
extension [UInt8] {
    /// `YYYY-MM-DD`.
    mutating func appendISO8601(day: CalendarDay) {
        let (year, month, dayOfMonth) = day.civil
        appendDigits(year, 4)
        append(0x2D)
        appendDigits(month, 2)
        append(0x2D)
        appendDigits(dayOfMonth, 2)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, in UTC, to the second.
    mutating func appendISO8601(instant: Date) {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        appendISO8601(day: CalendarDay(daysSinceEpoch: days))
        append(0x54)
        appendDigits(Int(time / 3_600), 2)
        append(0x3A)
        appendDigits(Int(time / 60 % 60), 2)
        append(0x3A)
        appendDigits(Int(time % 60), 2)
        append(0x5A)
    }

    private mutating func appendDigits(_ value: Int, _ width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            append(0x30 + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}
