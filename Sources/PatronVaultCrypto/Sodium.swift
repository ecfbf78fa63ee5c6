import CSodium

/// libsodium must be initialised once per process before any call; a global `let` is initialised
/// lazily and exactly once by the Swift runtime, so every entry point touches it first.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    @inline(__always)
    static func ensureReady() {
        precondition(ready, "libsodium could not be initialised")
    }
}
