/// A value a condition compares: either read from a request or written as a literal. Dates are
/// seconds since 1970 so comparing them is arithmetic, not calendar work.
enum PolicyValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int)
    case time(Double)

    /// Orders two values of the same type; the loader has already rejected mixed types, so a
    /// mismatch here compares as unordered.
    static func compare(_ lhs: PolicyValue, _ op: ComparisonOperator, _ rhs: PolicyValue) -> Bool {
        switch op {
        case .equal: return lhs == rhs
        case .notEqual: return lhs != rhs
        default: break
        }
        let order: Int
        switch (lhs, rhs) {
        case let (.int(a), .int(b)): order = a < b ? -1 : (a == b ? 0 : 1)
        case let (.time(a), .time(b)): order = a < b ? -1 : (a == b ? 0 : 1)
        default: return false
        }
        switch op {
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        case .equal, .notEqual: return false
        }
    }
}

enum ComparisonOperator: String, Sendable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    var orders: Bool { self != .equal && self != .notEqual }
}
