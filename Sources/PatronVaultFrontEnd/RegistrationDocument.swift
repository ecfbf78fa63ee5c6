import PatronVaultCore

/// A patron's registration as the front ends exchange it in JSON: a line of `patron import`, the
/// body of the daemon's `POST /v1/patrons`. Days are `YYYY-MM-DD`; a field left out has no value.
public struct RegistrationDocument: Codable, Sendable {
    public var card: String
    public var name: String
    public var email: String
    public var phone: String?
    public var address: String?
    public var birthDate: String?
    public var branch: String?
    public var category: String?
    public var expires: String?
    /// `keep` or `discard` (the default).
    public var history: String?
    /// `email`, `phone` or `post`: how the patron wants hold notices (email when left out).
    public var notify: String?

    /// The document of a registration, for a writer of import files.
    public init(_ registration: PatronRegistration) {
        card = registration.cardBarcode
        name = registration.fullName
        email = registration.email
        phone = registration.phone
        address = registration.postalAddress
        birthDate = registration.birthDate?.description
        branch = registration.homeBranch
        category = registration.category
        expires = registration.cardExpiry?.description
        history = registration.history.rawValue
        notify = registration.notifyBy?.rawValue
    }

    /// A field that does not hold what it must, named as the document names it.
    public struct FieldError: Error, Sendable {
        /// `birthDate is not a date (YYYY-MM-DD)`: each front end adds where (a line, a body).
        public let sentence: String
    }

    /// The registration the document describes; the core validates the values themselves.
    public func registration() throws(FieldError) -> PatronRegistration {
        func day(_ text: String?, _ field: String) throws(FieldError) -> CalendarDay? {
            guard let text else { return nil }
            guard let day = try? CalendarDay(parsing: text, field: field) else { throw FieldError(sentence: "\(field) is not a date (YYYY-MM-DD)") }
            return day
        }
        guard let preference = HistoryPreference(rawValue: history ?? "discard") else {
            throw FieldError(sentence: "history must be keep or discard")
        }
        var channel: NotificationChannel?
        if let notify {
            guard let chosen = NotificationChannel(rawValue: notify) else { throw FieldError(sentence: "notify must be email, phone or post") }
            channel = chosen
        }
        return PatronRegistration(
            cardBarcode: card, fullName: name, email: email, phone: phone, postalAddress: address, birthDate: try day(birthDate, "birthDate"),
            homeBranch: branch, category: category, cardExpiry: try day(expires, "expires"), history: preference, notifyBy: channel)
    }
}

/// The daemon's `POST /v1/patrons` body: a registration document and, optionally, the patron's
/// first PIN, side by side in one object.
public struct RegistrationRequest: Codable, Sendable {
    public let document: RegistrationDocument
    public let pin: String?

    public init(document: RegistrationDocument, pin: String?) {
        self.document = document
        self.pin = pin
    }

    private enum CodingKeys: String, CodingKey { case pin }

    public init(from decoder: any Decoder) throws {
        document = try RegistrationDocument(from: decoder)
        pin = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .pin)
    }

    public func encode(to encoder: any Encoder) throws {
        try document.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(pin, forKey: .pin)
    }
}
