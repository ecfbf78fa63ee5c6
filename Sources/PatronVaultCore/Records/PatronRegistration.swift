/// A patron's registration: all of it is sealed; only blind indexes of the card, email and
/// normalised name are stored beside it for lookups.
public struct PatronRegistration: Sendable, Equatable {
    public var cardBarcode: String
    public var fullName: String
    public var email: String
    public var phone: String?
    public var postalAddress: String?
    public var birthDate: CalendarDay?
    public var homeBranch: String?
    public var category: String?
    public var cardExpiry: CalendarDay?
    public var history: HistoryPreference
    /// The channel the patron chose for hold notices; nil means email.
    public var notifyBy: NotificationChannel?
    /// Argon2id hash of the PIN; sealed, so a stolen database cannot be brute-forced offline.
    var pinHash: String?
    public var registeredOn: CalendarDay

    public init(
        cardBarcode: String, fullName: String, email: String, phone: String? = nil,
        postalAddress: String? = nil, birthDate: CalendarDay? = nil, homeBranch: String? = nil,
        category: String? = nil, cardExpiry: CalendarDay? = nil, history: HistoryPreference = .discard,
        registeredOn: CalendarDay = CalendarDay(daysSinceEpoch: 0), notifyBy: NotificationChannel? = nil
    ) {
        self.cardBarcode = cardBarcode
        self.fullName = fullName
        self.email = email
        self.phone = phone
        self.postalAddress = postalAddress
        self.birthDate = birthDate
        self.homeBranch = homeBranch
        self.category = category
        self.cardExpiry = cardExpiry
        self.history = history
        self.registeredOn = registeredOn
        self.notifyBy = notifyBy
    }

    public var hasPIN: Bool { pinHash != nil }

    func encoded() -> [UInt8] {
        var writer = CanonicalWriter(capacity: 256)
        // Format 2 only with a notice channel, so every other registration encodes as it always has.
        writer.append(byte: notifyBy == nil ? 1 : 2)
        writer.append(cardBarcode)
        writer.append(fullName)
        writer.append(email)
        writer.append(phone)
        writer.append(postalAddress)
        writer.append(birthDate?.daysSinceEpoch)
        writer.append(homeBranch)
        writer.append(category)
        writer.append(cardExpiry?.daysSinceEpoch)
        writer.append(history.rawValue)
        writer.append(pinHash)
        writer.append(registeredOn.daysSinceEpoch)
        if let notifyBy { writer.append(notifyBy.rawValue) }
        return writer.bytes
    }

    init(decoding bytes: [UInt8]) throws(VaultError) {
        var reader = CanonicalReader(bytes)
        let format = try reader.readByte()
        guard format == 1 || format == 2 else { throw .integrity }
        cardBarcode = try reader.readString()
        fullName = try reader.readString()
        email = try reader.readString()
        phone = try reader.readOptionalString()
        postalAddress = try reader.readOptionalString()
        birthDate = try reader.readOptionalInt64().map(CalendarDay.init(daysSinceEpoch:))
        homeBranch = try reader.readOptionalString()
        category = try reader.readOptionalString()
        cardExpiry = try reader.readOptionalInt64().map(CalendarDay.init(daysSinceEpoch:))
        guard let history = HistoryPreference(rawValue: try reader.readString()) else { throw .integrity }
        self.history = history
        pinHash = try reader.readOptionalString()
        registeredOn = CalendarDay(daysSinceEpoch: try reader.readInt64())
        if format == 2 {
            guard let channel = NotificationChannel(rawValue: try reader.readString()) else { throw .integrity }
            notifyBy = channel
        }
        guard reader.isAtEnd else { throw .integrity }
    }
}

/// The shape front ends show: short keys, days as `YYYY-MM-DD`, absent fields left out. The PIN
/// hash is never encoded; only whether a PIN is set, which is all a decoded registration (the
/// CLI reading the daemon's answer) knows: its hash is a placeholder that verifies nothing.
extension PatronRegistration: Codable {
    private enum CodingKeys: String, CodingKey {
        case card, name, email, phone, address, birthDate, branch, category, expires, history, registered, hasPIN, notify
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(cardBarcode, forKey: .card)
        try container.encode(fullName, forKey: .name)
        try container.encode(email, forKey: .email)
        try container.encodeIfPresent(phone, forKey: .phone)
        try container.encodeIfPresent(postalAddress, forKey: .address)
        try container.encodeIfPresent(birthDate, forKey: .birthDate)
        try container.encodeIfPresent(homeBranch, forKey: .branch)
        try container.encodeIfPresent(category, forKey: .category)
        try container.encodeIfPresent(cardExpiry, forKey: .expires)
        try container.encode(history, forKey: .history)
        try container.encode(registeredOn, forKey: .registered)
        try container.encode(hasPIN, forKey: .hasPIN)
        try container.encodeIfPresent(notifyBy, forKey: .notify)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            cardBarcode: try container.decode(String.self, forKey: .card), fullName: try container.decode(String.self, forKey: .name),
            email: try container.decode(String.self, forKey: .email), phone: try container.decodeIfPresent(String.self, forKey: .phone),
            postalAddress: try container.decodeIfPresent(String.self, forKey: .address),
            birthDate: try container.decodeIfPresent(CalendarDay.self, forKey: .birthDate),
            homeBranch: try container.decodeIfPresent(String.self, forKey: .branch), category: try container.decodeIfPresent(String.self, forKey: .category),
            cardExpiry: try container.decodeIfPresent(CalendarDay.self, forKey: .expires), history: try container.decode(HistoryPreference.self, forKey: .history),
            registeredOn: try container.decode(CalendarDay.self, forKey: .registered),
            notifyBy: try container.decodeIfPresent(NotificationChannel.self, forKey: .notify))
        pinHash = try container.decode(Bool.self, forKey: .hasPIN) ? "" : nil
    }
}
