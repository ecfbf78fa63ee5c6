import Foundation
import ServiceLifecycle

/// The upkeep a long-lived process runs on a timer: finish queued shreds (a shred a reader
/// delayed must not wait for the next destroying return), remove keys a crashed writer left
/// without records, settle keys whose records committed without their settle, seal revocations
/// whose seal did not follow, purge journal residue from both stores, and fold the journals into the
/// main files.
public struct VaultMaintenance: Service {
    let storage: VaultStorage
    let recordSets: RecordSetKey
    let staffSeals: StaffSealKey
    /// Time between passes when run as a service.
    public var interval: Duration

    init(storage: VaultStorage, recordSets: RecordSetKey, staffSeals: StaffSealKey, interval: Duration = .seconds(60)) {
        self.storage = storage
        self.recordSets = recordSets
        self.staffSeals = staffSeals
        self.interval = interval
    }

    /// What one pass achieved.
    public struct Pass: Sendable, Equatable {
        /// Every queued shred is complete, its key's residue included.
        public let shredsComplete: Bool
        /// The record store's journal was emptied (no reader held it).
        public let residuePurged: Bool
    }

    /// One pass; failures are reported in the result and retried on the next pass, never thrown,
    /// since the operations that queued the work have already committed.
    @discardableResult
    public func runOnce() async -> Pass {
        let shreds = (try? await storage.finishShreds(checking: recordSets)) ?? false
        _ = try? await storage.sweepOrphanKeys()
        _ = try? await storage.settleLeftovers(checking: recordSets)
        _ = try? await storage.sealRevocations(with: staffSeals)
        let purged = (try? await storage.records.purgeResidue()) ?? false
        try? await storage.keys.checkpoint()
        return Pass(shredsComplete: shreds, residuePurged: purged)
    }

    /// Runs a pass every `interval` until the service group shuts down, then one last pass.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await runOnce()
                try await Task.sleep(for: interval)
            }
        }
        await runOnce()
    }
}
