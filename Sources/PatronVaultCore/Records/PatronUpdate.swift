/// The registration fields staff may change; nil leaves a field as it is. The history
/// preference is absent on purpose: only the patron chooses whether their history is kept.
public struct PatronUpdate: Sendable {
    public var fullName: String?
    public var email: String?
    public var phone: String?
    public var postalAddress: String?
    public var birthDate: CalendarDay?
    public var homeBranch: String?
    public var category: String?
    public var cardExpiry: CalendarDay?
    public var notifyBy: NotificationChannel?

    public init() {}

    public var isEmpty: Bool {
        fullName == nil && email == nil && phone == nil && postalAddress == nil && birthDate == nil
            && homeBranch == nil && category == nil && cardExpiry == nil && notifyBy == nil
    }
}
