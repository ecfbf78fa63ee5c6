import PatronVaultCrypto

/// The right edge of an RFC 6962 Merkle tree: the roots of the perfect subtrees that make up a
/// tree of `size` leaves, largest first, one per set bit of `size`. Appending touches O(log n)
/// hashes and the root folds them right to left, so neither needs the leaves again.
struct MerkleFrontier: Equatable {
    static let hashByteCount = 32

    private(set) var size: Int64
    /// Concatenated 32-byte subtree roots, largest subtree first.
    private(set) var hashes: [UInt8]
    private var scratch = [UInt8](repeating: 0, count: 1 + 2 * hashByteCount)

    init() {
        size = 0
        hashes = []
    }

    /// Restores a stored frontier, refusing one whose hash count does not match its size.
    init(size: Int64, hashes: [UInt8]) throws(AuditError) {
        guard size >= 0, hashes.count == size.nonzeroBitCount * Self.hashByteCount else { throw .stateMalformed }
        self.size = size
        self.hashes = hashes
    }

    static func == (lhs: MerkleFrontier, rhs: MerkleFrontier) -> Bool {
        lhs.size == rhs.size && lhs.hashes == rhs.hashes
    }

    mutating func append(leaf: [UInt8]) {
        var carry = leaf
        var remaining = size
        while remaining & 1 == 1 {
            let leftStart = hashes.count - Self.hashByteCount
            carry = node(left: hashes[leftStart...], right: carry)
            hashes.removeLast(Self.hashByteCount)
            remaining >>= 1
        }
        hashes.append(contentsOf: carry)
        size += 1
    }

    /// MTH of the whole tree; SHA-256 of the empty string for an empty tree, as RFC 6962 defines.
    mutating func root() -> [UInt8] {
        guard size > 0 else { return Digest.sha256([]) }
        var end = hashes.count
        var accumulated = Array(hashes[(end - Self.hashByteCount)..<end])
        end -= Self.hashByteCount
        while end > 0 {
            accumulated = node(left: hashes[(end - Self.hashByteCount)..<end], right: accumulated)
            end -= Self.hashByteCount
        }
        return accumulated
    }

    /// SHA-256(0x01 ‖ left ‖ right), assembled in a reused buffer.
    private mutating func node(left: ArraySlice<UInt8>, right: [UInt8]) -> [UInt8] {
        scratch[0] = 0x01
        scratch.replaceSubrange(1...Self.hashByteCount, with: left)
        scratch.replaceSubrange((1 + Self.hashByteCount)..., with: right)
        return Digest.sha256(scratch)
    }
}
