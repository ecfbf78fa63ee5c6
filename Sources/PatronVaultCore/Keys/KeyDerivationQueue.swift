import Dispatch
import Foundation
import Synchronization

/// Runs Argon2id (PIN hashes and checks, passphrase stretching) off the cooperative pool, with
/// at most `limit` derivations at once: each takes 64 MiB or more and a core for tens of
/// milliseconds, so a burst of sign-ins must queue rather than exhaust memory or starve the
/// threads that serve other requests.
final class KeyDerivationQueue: Sendable {
    private let limit: Int
    private let state = Mutex<(running: Int, waiting: [CheckedContinuation<Void, Never>])>((0, []))
    private let queue = DispatchQueue(label: "patronvault.argon2id", attributes: .concurrent)

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let runNow = state.withLock { state -> Bool in
                if state.running < limit {
                    state.running += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if runNow { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
