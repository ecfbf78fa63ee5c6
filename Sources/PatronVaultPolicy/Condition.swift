/// A rule's `when:` clause after loading: attribute paths resolved to slots and types already
/// checked, so evaluating it is a walk over a small tree with no name lookups or parsing.
indirect enum Condition: Sendable {
    case constant(Bool)
    /// A boolean attribute used on its own, as in `when: context.legalOrder`.
    case attribute(AttributeSlot)
    case has(AttributeSlot)
    case not(Condition)
    /// A chain `a and b and c`, kept flat so long chains never deepen the tree.
    case all([Condition])
    /// A chain `a or b or c`.
    case any([Condition])
    case compare(Operand, ComparisonOperator, Operand)
    case member(Operand, [PolicyValue], negated: Bool)

    enum Operand: Sendable {
        case attribute(AttributeSlot)
        case constant(PolicyValue)
    }

    /// A condition is true, false, or cannot be evaluated because the request lacks an
    /// attribute it reads; the caller turns the last into a forbid (fail closed).
    enum Outcome: Sendable, Equatable {
        case yes
        case no
        case missing(AttributeSlot)
    }

    /// `and`/`or` short-circuit left to right, so `has x and x == "y"` never reads a missing
    /// `x`; an unevaluable operand that is reached makes the whole condition unevaluable.
    func evaluate(_ request: PolicyRequest) -> Outcome {
        switch self {
        case .constant(let value):
            return value ? .yes : .no
        case .attribute(let slot):
            guard let value = request.value(of: slot) else { return .missing(slot) }
            return value == .bool(true) ? .yes : .no
        case .has(let slot):
            return request.has(slot) ? .yes : .no
        case .not(let inner):
            switch inner.evaluate(request) {
            case .yes: return .no
            case .no: return .yes
            case .missing(let slot): return .missing(slot)
            }
        case .all(let terms):
            for term in terms {
                let outcome = term.evaluate(request)
                if outcome != .yes { return outcome }
            }
            return .yes
        case .any(let terms):
            for term in terms {
                let outcome = term.evaluate(request)
                if outcome != .no { return outcome }
            }
            return .no
        case .compare(let lhs, let op, let rhs):
            let left: PolicyValue
            switch Self.resolve(lhs, request) {
            case .success(let value): left = value
            case .failure(let slot): return .missing(slot.slot)
            }
            let right: PolicyValue
            switch Self.resolve(rhs, request) {
            case .success(let value): right = value
            case .failure(let slot): return .missing(slot.slot)
            }
            return PolicyValue.compare(left, op, right) ? .yes : .no
        case .member(let operand, let list, let negated):
            let value: PolicyValue
            switch Self.resolve(operand, request) {
            case .success(let resolved): value = resolved
            case .failure(let slot): return .missing(slot.slot)
            }
            return list.contains(value) != negated ? .yes : .no
        }
    }

    private struct Absent: Error {
        let slot: AttributeSlot
    }

    @inline(__always)
    private static func resolve(_ operand: Operand, _ request: PolicyRequest) -> Result<PolicyValue, Absent> {
        switch operand {
        case .constant(let value):
            return .success(value)
        case .attribute(let slot):
            guard let value = request.value(of: slot) else { return .failure(Absent(slot: slot)) }
            return .success(value)
        }
    }
}
