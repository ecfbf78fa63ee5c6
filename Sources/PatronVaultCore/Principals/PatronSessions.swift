import PatronVaultCrypto

/// Signed-in patrons of a long-lived front end (the daemon's API and its web page): a card and
/// PIN buy a random session token, which then stands for the patron until it has been idle too
/// long, reached its lifetime, or was closed. Only a hash of each token is held, so a memory dump
/// lists no usable session. The PIN check, its lockout and its audit entries are `SignIn`'s, the
/// same as the CLI's. An actor: the one piece of shared mutable state a front end keeps.
public actor PatronSessions {
    /// How long sessions last and how many may be open at once.
    public struct Configuration: Sendable {
        /// A session unused this long is closed.
        public var idle: Duration = .seconds(15 * 60)
        /// A session is closed this long after it opened, used or not.
        public var lifetime: Duration = .seconds(60 * 60)
        /// Open sessions at most; a sign-in beyond it closes the one that expires first.
        public var capacity: Int = 10_000
        /// Sessions one patron may hold at once; their oldest closes when another opens, so one
        /// card signing in again and again cannot fill `capacity` and push other patrons out.
        public var perPatron: Int = 5

        public init() {}
    }

    /// What a sign-in hands back: the token (shown once) and how long it lasts if used.
    public struct Opened: Sendable, Encodable {
        public let token: String
        public let idleSeconds: Int
        public let lifetimeSeconds: Int
    }

    private struct Entry {
        let principal: Principal
        let closesAt: ContinuousClock.Instant
        var idleUntil: ContinuousClock.Instant
    }

    static let prefix = "pvs_"

    private let signIn: SignIn
    private let configuration: Configuration
    private let clock: ContinuousClock
    private var entries: [[UInt8]: Entry] = [:]

    public init(signIn: SignIn, configuration: Configuration = Configuration(), clock: ContinuousClock = ContinuousClock()) {
        self.signIn = signIn
        self.configuration = configuration
        self.clock = clock
    }

    /// Checks the card and PIN (counted, locked out and audited as any sign-in) and opens a session.
    public func open(card: String, pin: [UInt8]) async throws(VaultError) -> Opened {
        let principal = try await signIn.patron(card: card, pin: pin)
        let now = clock.now
        sweep(now)
        let own = entries.filter { $0.value.principal == principal }
        if own.count >= configuration.perPatron, let oldest = own.min(by: { $0.value.idleUntil < $1.value.idleUntil })?.key {
            entries[oldest] = nil
        }
        if entries.count >= configuration.capacity, let first = entries.min(by: { $0.value.idleUntil < $1.value.idleUntil })?.key {
            entries[first] = nil
        }
        let token = Self.prefix + Base64URL.encode(SecureRandom.bytes(32))
        entries[Self.hash(token)] = Entry(principal: principal, closesAt: now + configuration.lifetime, idleUntil: now + configuration.idle)
        return Opened(
            token: token, idleSeconds: Int(configuration.idle.components.seconds), lifetimeSeconds: Int(configuration.lifetime.components.seconds))
    }

    /// The patron a token stands for, which counts as using it; an unknown, closed or expired
    /// token fails as authentication.
    public func principal(token: String) throws(VaultError) -> Principal {
        let key = Self.hash(token)
        let now = clock.now
        guard token.hasPrefix(Self.prefix), var entry = entries[key] else { throw Self.failure }
        guard now < entry.idleUntil, now < entry.closesAt else {
            entries[key] = nil
            throw Self.failure
        }
        entry.idleUntil = now + configuration.idle
        entries[key] = entry
        return entry.principal
    }

    /// Signs out: the token stops working at once.
    public func close(token: String) {
        entries[Self.hash(token)] = nil
    }

    /// Closes every session of a patron (after an erasure there is nobody left to act for).
    public func closeAll(of principal: Principal) {
        entries = entries.filter { $0.value.principal != principal }
    }

    private func sweep(_ now: ContinuousClock.Instant) {
        entries = entries.filter { now < $0.value.idleUntil && now < $0.value.closesAt }
    }

    private static let failure = VaultError(.authenticationFailed, "the session is unknown, signed out or expired; sign in again with card and PIN")

    private static func hash(_ token: String) -> [UInt8] {
        Digest.blake2b(Array("patronvault.patron-session".utf8) + Array(token.utf8))
    }
}
