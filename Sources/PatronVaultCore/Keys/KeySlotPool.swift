import Foundation
import Synchronization
import PatronVaultCrypto

/// Guarded memory for the patron and record keys of operations in progress. `sodium_malloc`
/// maps pages with guard pages on each side, too slow to do per record or per lookup, so pairs
/// of slots are reused: an operation takes a pair, and gives it back wiped when it ends.
final class KeySlotPool: Sendable {
    private let free = Mutex<[KeySlotPair]>([])

    /// A wiped pair, reused or newly allocated.
    func take() throws(VaultError) -> KeySlotPair {
        if let pair = free.withLock({ $0.popLast() }) { return pair }
        do {
            return KeySlotPair(patron: try SymmetricKey.slot(), record: try SymmetricKey.slot())
        } catch {
            throw Self.secureMemoryFailure
        }
    }

    /// Pairs kept for reuse; a burst beyond this frees its surplus, so locked memory does not
    /// stay at the peak of concurrent operations.
    static let kept = 16

    /// Wipes a pair and keeps it for the next operation, or lets it go (`sodium_free`) when
    /// enough are kept.
    func give(_ pair: KeySlotPair) {
        pair.patron.wipe()
        pair.record.wipe()
        free.withLock { pairs in
            if pairs.count < Self.kept { pairs.append(pair) }
        }
    }

    static let secureMemoryFailure = VaultError(.storageFailure, "secure memory for keys could not be allocated (raise the mlock limit)")
}

/// Two guarded key slots, owned by one operation at a time.
struct KeySlotPair: @unchecked Sendable {
    let patron: SymmetricKey
    let record: SymmetricKey
}
