/// Checking, changing and indexing a registration at the desk.
extension PatronRegistration {
    /// Birth dates from 1900 to today; card expiry dates from 1970 to 2199.
    private static let earliestBirth = try! CalendarDay(parsing: "1900-01-01", field: "birth date")
    private static let expiryRange = try! CalendarDay(parsing: "1970-01-01", field: "card expiry")...(try! CalendarDay(parsing: "2199-12-31", field: "card expiry"))

    /// Normalises and checks every field; errors name the field, never its value. A new
    /// registration's notice channel must have its contact; an update's is not checked against
    /// the stored contacts, since the answer would tell any desk whether the patron has a phone
    /// or an address (a view shows email for a channel without its contact).
    static func validated(_ form: PatronRegistration, today: CalendarDay, checkingNoticeContact: Bool = true) throws(VaultError) -> PatronRegistration {
        if let born = form.birthDate, born < earliestBirth || today < born {
            throw VaultError.invalid("the birth date must be between 1900-01-01 and today")
        }
        if let expiry = form.cardExpiry, !expiryRange.contains(expiry) {
            throw VaultError.invalid("the card expiry must be between 1970-01-01 and 2199-12-31")
        }
        var registration = form
        registration.cardBarcode = try FieldRules.barcode(form.cardBarcode, field: "card barcode")
        registration.fullName = try FieldRules.text(form.fullName, field: "name", maxLength: 256)
        registration.email = try FieldRules.email(form.email)
        registration.phone = try FieldRules.optionalText(form.phone, field: "phone")
        registration.postalAddress = try FieldRules.optionalText(form.postalAddress, field: "address")
        registration.homeBranch = try FieldRules.optionalText(form.homeBranch, field: "branch")
        registration.category = try FieldRules.optionalText(form.category, field: "category")
        guard checkingNoticeContact else { return registration }
        switch registration.notifyBy {
        case .phone? where registration.phone == nil: throw VaultError.invalid("notices by phone need a phone number")
        case .post? where registration.postalAddress == nil: throw VaultError.invalid("notices by post need an address")
        default: break
        }
        return registration
    }

    /// The registration with the fields an update names replaced.
    func applying(_ update: PatronUpdate) -> PatronRegistration {
        var registration = self
        if let value = update.fullName { registration.fullName = value }
        if let value = update.email { registration.email = value }
        if let value = update.phone { registration.phone = value }
        if let value = update.postalAddress { registration.postalAddress = value }
        if let value = update.birthDate { registration.birthDate = value }
        if let value = update.homeBranch { registration.homeBranch = value }
        if let value = update.category { registration.category = value }
        if let value = update.cardExpiry { registration.cardExpiry = value }
        if let value = update.notifyBy { registration.notifyBy = value }
        return registration
    }

    /// The patron row: blind indexes of card, email and normalised name, nothing in the clear.
    func row(pseudonym: PatronPseudonym, registrationID: RecordID, ring: KeyRing) -> NewPatronRow {
        NewPatronRow(
            pseudonym: pseudonym, cardIndex: ring.card.index(of: cardBarcode), emailIndex: ring.email.index(of: email),
            nameIndex: ring.name.index(of: FieldRules.normalizedName(fullName)), historyKeep: history == .keep, registrationID: registrationID,
            registeredDay: registeredOn, expiresDay: cardExpiry)
    }
}
