/// A run of consecutive entries the reading thread has checked and encoded, handed to the
/// hashing thread in one piece: their leaf encodings back to back, each followed by its stored
/// MAC, so the hashing side never touches SQLite.
///
/// Safety: a batch is only ever used by one thread at a time; the pipeline's semaphores hand it
/// over, and they order the memory accesses on either side of the hand-over.
final class AuditVerifierBatch: @unchecked Sendable {
    static let capacity = 4096

    /// Unchecked because the reading side touches it for every field of every row, and the
    /// hand-over protocol above already rules out overlapping access.
    @exclusivity(unchecked) var encoder = AuditLeafEncoder(capacity: 1 << 20)
    private(set) var firstSequence: Int64 = 1
    /// Where each entry's leaf encoding ends; it starts where the previous entry's MAC ended.
    @exclusivity(unchecked) private(set) var leafEnds: [Int] = []
    /// Where each entry's stored MAC ends (equal to `leafEnds` when no MAC is checked).
    @exclusivity(unchecked) private(set) var macEnds: [Int] = []
    @exclusivity(unchecked) private(set) var times: [Int64] = []
    /// Each entry's 32-byte leaf hash, once computed by either side.
    @exclusivity(unchecked) var leaves = [UInt8](repeating: 0, count: capacity * MerkleFrontier.hashByteCount)
    /// Leaves the reading side already hashed, from the first entry on: it does so while the
    /// hashing side is behind, so the two threads share the work whichever one is slower.
    var hashedCount = 0
    /// What the reading side found wrong with the entry after the last one in the batch.
    var failure: (sequence: Int64, problem: String)?
    /// No batch follows this one.
    var isLast = false

    init() {
        leafEnds.reserveCapacity(Self.capacity)
        macEnds.reserveCapacity(Self.capacity)
        times.reserveCapacity(Self.capacity)
    }

    var count: Int { times.count }
    var isFull: Bool { times.count >= Self.capacity }

    func reset(firstSequence: Int64) {
        self.firstSequence = firstSequence
        encoder.removeAll()
        leafEnds.removeAll(keepingCapacity: true)
        macEnds.removeAll(keepingCapacity: true)
        times.removeAll(keepingCapacity: true)
        failure = nil
        isLast = false
        hashedCount = 0
    }

    /// Hashes the leaves of up to `limit` more entries, continuing from `hashedCount`.
    func hashLeaves(upTo limit: Int) {
        let end = min(hashedCount + limit, count)
        encoder.withBytes { bytes in
            leaves.withUnsafeMutableBytes { leaves in
                for index in hashedCount..<end {
                    let start = index == 0 ? 0 : macEnds[index - 1]
                    AuditLeafEncoder.hashLeaf(
                        UnsafeRawBufferPointer(rebasing: bytes[start..<leafEnds[index]]),
                        into: leaves.baseAddress! + index * MerkleFrontier.hashByteCount)
                }
            }
        }
        hashedCount = max(hashedCount, end)
    }

    /// Records that the encoder now ends with a complete entry and, when checked, its MAC.
    func finishEntry(leafEnd: Int, time: Int64) {
        leafEnds.append(leafEnd)
        macEnds.append(encoder.count)
        times.append(time)
    }
}
