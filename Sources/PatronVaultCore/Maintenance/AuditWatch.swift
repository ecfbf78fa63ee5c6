import Foundation
import PatronVaultAudit
import ServiceLifecycle
import Synchronization

/// The audit trail's state as a long-running process last verified it, so monitoring learns of a
/// broken or rewritten trail from `/health` without an admin running `audit verify`. It verifies
/// on a reader snapshot at start and every `interval`, and records nothing (see
/// `Gate.verifyTrail`).
public final class AuditWatch: Service, Sendable {
    public struct Status: Sendable, Equatable, Codable {
        public enum State: String, Sendable, Codable {
            /// Not verified yet (the first check is running).
            case unchecked
            case intact
            /// Verification failed: an entry was changed, removed or forged, or the trail could
            /// not be read.
            case broken
        }

        public let state: State
        /// Entries verified in the last check.
        public let entries: Int64?
        /// When the last check finished, ISO 8601.
        public let checkedAt: String?
    }

    private let gate: Gate
    /// Time between checks.
    public let interval: Duration
    private let last = Mutex(Status(state: .unchecked, entries: nil, checkedAt: nil))

    init(gate: Gate, interval: Duration) {
        self.gate = gate
        self.interval = interval
    }

    public var status: Status {
        last.withLock { $0 }
    }

    /// One verification of the whole trail; its result becomes `status`.
    @discardableResult
    public func checkOnce() async -> Status {
        let status: Status
        do {
            let verification = try await gate.verifyTrail()
            status = Status(state: verification.isIntact ? .intact : .broken, entries: verification.entryCount, checkedAt: gate.clock.now().iso8601Text)
        } catch {
            status = Status(state: .broken, entries: nil, checkedAt: gate.clock.now().iso8601Text)
        }
        last.withLock { $0 = status }
        return status
    }

    /// Checks at start and then every `interval` until the service group shuts down.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.checkOnce()
                try await Task.sleep(for: self.interval)
            }
        }
    }
}
