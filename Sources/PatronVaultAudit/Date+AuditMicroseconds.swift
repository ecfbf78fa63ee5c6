import Foundation

/// The trail stores times as integer microseconds since 1970: exact to compare and to encode,
/// unlike a floating-point `Date`.
extension Date {
    init(auditMicroseconds: Int64) {
        self.init(timeIntervalSince1970: Double(auditMicroseconds) / 1_000_000)
    }

    /// Rounded to the nearest microsecond so that a time read back from the trail converts to the
    /// same integer it was stored as.
    func auditMicroseconds() throws(AuditError) -> Int64 {
        let value = (timeIntervalSince1970 * 1_000_000).rounded()
        guard value.isFinite, value > -9.2e18, value < 9.2e18 else { throw .unrepresentableTime }
        return Int64(value)
    }
}
