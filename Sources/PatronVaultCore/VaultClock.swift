import Foundation

/// Time is injected so retention, lockouts and the audit trail can be tested with a fixed clock.
/// Only a vault created on a fixed clock accepts one later (see `Vault.open`): a vault created
/// on the system clock refuses any other, so a clock cannot pin audit times or end a lockout.
public protocol VaultClock: Sendable {
    func now() -> Date
}

/// The wall clock.
public struct SystemClock: VaultClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that always answers the same instant, for tests and reproducible demos.
public struct FixedClock: VaultClock {
    public let instant: Date
    public init(_ instant: Date) { self.instant = instant }
    public func now() -> Date { instant }
}

/// A clock moved by hand, for demos and benchmarks that show what happens years later (a
/// retention run). A vault created on it is a test vault, as with any clock but the system's.
public final class ManualClock: VaultClock, @unchecked Sendable {
    private let lock = NSLock()
    private var instant: Date

    public init(_ instant: Date) {
        self.instant = instant
    }

    /// Moves the clock to `instant`; never backwards, as a real clock never goes.
    public func set(_ instant: Date) {
        lock.withLock { self.instant = max(self.instant, instant) }
    }

    public func now() -> Date {
        lock.withLock { instant }
    }
}
