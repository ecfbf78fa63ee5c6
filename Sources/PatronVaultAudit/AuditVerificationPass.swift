import GRDB
import PatronVaultCrypto

/// The verifier's hashing side and running state: the recomputed tree, chain and last time, and
/// the checkpoints still to be reached. It consumes batches strictly in sequence order, so the
/// first problem it reports is the first one in the trail.
struct AuditVerificationPass {
    typealias Pending = (checkpoint: AuditCheckpoint, isExternal: Bool)

    let keys: AuditSigningKeys
    let chain: AuditChain?
    let pending: [Pending]
    private(set) var nextPending = 0
    private(set) var frontier = MerkleFrontier()
    private var previousMAC = AuditChain.genesis
    private var computedMAC = AuditChain.genesis
    private(set) var previousTime = Int64.min
    private(set) var lastVerifiedCheckpoint: Int64 = 0
    private(set) var checkpointsVerified = 0

    init(keys: AuditSigningKeys, macKey: SymmetricKey?, pending: [Pending]) {
        self.keys = keys
        chain = macKey.map(AuditChain.init(key:))
        self.pending = pending
    }

    var size: Int64 { frontier.size }

    func broken(at sequence: Int64?, _ problem: String) -> AuditVerification {
        .broken(
            at: sequence, problem, entryCount: frontier.size, checkpointsVerified: checkpointsVerified,
            macChainChecked: chain != nil)
    }

    /// Hashes and chains every entry of the batch, checking checkpoints as the tree reaches them,
    /// then reports the reading side's finding if nothing earlier was wrong.
    mutating func consume(_ batch: AuditVerifierBatch) -> AuditVerification? {
        batch.hashLeaves(upTo: batch.count)
        let failure = batch.encoder.withBytes { bytes -> AuditVerification? in
            batch.leaves.withUnsafeBytes { leaves -> AuditVerification? in
                for index in 0..<batch.count {
                    let leaf = leaves.baseAddress! + index * MerkleFrontier.hashByteCount
                    let storedMAC = UnsafeRawBufferPointer(rebasing: bytes[batch.leafEnds[index]..<batch.macEnds[index]])
                    if let failure = consumeEntry(
                        sequence: batch.firstSequence + Int64(index), leaf: leaf, storedMAC: storedMAC, time: batch.times[index])
                    {
                        return failure
                    }
                }
                return nil
            }
        }
        if let failure { return failure }
        if let found = batch.failure { return broken(at: found.sequence, found.problem) }
        return nil
    }

    private mutating func consumeEntry(
        sequence: Int64, leaf: UnsafeRawPointer, storedMAC: UnsafeRawBufferPointer, time: Int64
    ) -> AuditVerification? {
        if let chain {
            let isAuthentic = previousMAC.withUnsafeBytes { previous in
                computedMAC.withUnsafeMutableBytes { computed in
                    chain.mac(sequence: sequence, leaf: leaf, previous: previous.baseAddress!, into: computed.baseAddress!)
                    return AuditChain.matches(computed.baseAddress!, storedMAC)
                }
            }
            guard isAuthentic else {
                return broken(at: sequence, "Entry \(sequence) does not match its MAC: it was altered, inserted, moved or forged, or an entry before it was removed.")
            }
            swap(&previousMAC, &computedMAC)
        }
        frontier.append(leaf: leaf)
        previousTime = time
        return checkCheckpoints()
    }

    /// Checks every pending checkpoint whose size the tree has just reached.
    mutating func checkCheckpoints() -> AuditVerification? {
        while nextPending < pending.count, pending[nextPending].checkpoint.size <= frontier.size {
            let (checkpoint, isExternal) = pending[nextPending]
            nextPending += 1
            guard checkpoint.size == frontier.size else {
                return broken(at: nil, "A stored checkpoint has a negative size.")
            }
            if !isExternal, !keys.accept(checkpoint) {
                return broken(at: checkpoint.size, "The checkpoint at size \(checkpoint.size) carries a signature that does not verify with the audit key (or a retired one, before it retired).")
            }
            guard checkpoint.rootHash == frontier.root() else {
                let source = isExternal ? "the external checkpoint" : "the signed checkpoint"
                return broken(
                    at: lastVerifiedCheckpoint + 1,
                    "The first \(checkpoint.size) entries do not hash to the root of \(source) at size \(checkpoint.size): an entry from \(lastVerifiedCheckpoint + 1) to \(checkpoint.size) was altered, removed, inserted or reordered.")
            }
            if !isExternal, checkpoint.microseconds < previousTime {
                return broken(at: checkpoint.size, "The checkpoint at size \(checkpoint.size) is dated earlier than the entry it covers.")
            }
            lastVerifiedCheckpoint = checkpoint.size
            checkpointsVerified += 1
        }
        return nil
    }

    /// Once every entry is in: a checkpoint beyond the trail means entries were removed.
    func checkRemainingCheckpoints() -> AuditVerification? {
        guard nextPending < pending.count else { return nil }
        let (checkpoint, isExternal) = pending[nextPending]
        if !isExternal, !keys.accept(checkpoint) {
            return broken(at: checkpoint.size, "The checkpoint at size \(checkpoint.size) carries a signature that does not verify with the audit key (or a retired one, before it retired).")
        }
        let source = isExternal ? "the external checkpoint" : "a signed checkpoint"
        return broken(
            at: size + 1,
            "The trail holds \(size) entries but \(source) covers \(checkpoint.size); entries from \(size + 1) on were removed.")
    }

    /// The trail signs a checkpoint every `interval` entries: each multiple of it within the
    /// trail must have its stored checkpoint.
    func checkIntervalCheckpoints(every interval: Int) -> AuditVerification? {
        guard interval > 0 else { return nil }
        let stored = Set(pending.lazy.filter { !$0.isExternal }.map(\.checkpoint.size))
        var expected = Int64(interval)
        while expected <= size {
            if !stored.contains(expected) {
                return broken(
                    at: expected, "The signed checkpoint the trail makes at size \(expected) is missing: stored checkpoints were deleted.")
            }
            expected += Int64(interval)
        }
        return nil
    }

    /// The state row must describe exactly the trail just recomputed.
    func checkState(_ db: Database) throws -> AuditVerification {
        let state: AuditState
        do {
            state = try AuditState.read(db)
        } catch is AuditError {
            return checkState(nil)
        }
        return checkState(state)
    }

    /// Compares the stored state (nil when missing or malformed) with the recomputed trail.
    func checkState(_ state: AuditState?) -> AuditVerification {
        guard let state else {
            return broken(at: nil, "The trail's state row is missing or malformed.")
        }
        let stored = state.frontier
        let computed = frontier
        if stored.size != computed.size {
            let first = min(stored.size, computed.size) + 1
            return broken(at: first, "The trail's state records \(stored.size) entries but \(computed.size) are present.")
        }
        if stored.root() != computed.root() {
            let first = chain == nil ? min(lastVerifiedCheckpoint + 1, computed.size) : computed.size
            return broken(at: first, "The trail's state does not match the entries after entry \(lastVerifiedCheckpoint).")
        }
        if chain != nil, state.lastMAC != previousMAC {
            return broken(at: computed.size, "The trail's state does not end with the MAC of entry \(computed.size).")
        }
        if computed.size > 0, state.lastTime != previousTime {
            return broken(at: computed.size, "The trail's state does not end with the time of entry \(computed.size).")
        }
        return .intact(entryCount: computed.size, checkpointsVerified: checkpointsVerified, macChainChecked: chain != nil)
    }
}
