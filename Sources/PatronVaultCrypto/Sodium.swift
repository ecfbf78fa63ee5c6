import CSodium

/// libsodium must be initialised once per process before any call; a global `let` is initialised
/// lazily and exactly once by the Swift runtime, so every entry point touches it first.
///
/// Random bytes come from libsodium's internal generator (ChaCha20 with fast key erasure,
/// seeded from the kernel per thread and reseeded after a fork) rather than one `getrandom`
/// system call per nonce: sealing draws a nonce and a key for every record.
enum Sodium {
    static let ready: Bool = {
        _ = patronvault_use_internal_random()
        return sodium_init() >= 0
    }()

    @inline(__always)
    static func ensureReady() {
        precondition(ready, "libsodium could not be initialised")
    }
}
