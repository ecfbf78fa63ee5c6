import PatronVaultCrypto

/// The right edge of an RFC 6962 Merkle tree: the roots of the perfect subtrees that make up a
/// tree of `size` leaves, largest first, one per set bit of `size`. Appending touches O(log n)
/// hashes and the root folds them right to left, so neither needs the leaves again.
///
/// The roots live in one fixed buffer with room for every bit of an `Int64` size, and nodes are
/// hashed in place, so appending allocates nothing: the verifier appends a million leaves in a row.
struct MerkleFrontier: Equatable {
    static let hashByteCount = 32
    /// One root per possible set bit of a non-negative `Int64`, plus the leaf being carried in.
    private static let capacity = 64 * hashByteCount

    private(set) var size: Int64
    /// Bytes of `storage` in use: `size.nonzeroBitCount` hashes.
    private var byteCount: Int
    private var storage: [UInt8]

    init() {
        size = 0
        byteCount = 0
        storage = [UInt8](repeating: 0, count: Self.capacity)
    }

    /// Restores a stored frontier, refusing one whose hash count does not match its size.
    init(size: Int64, hashes: UnsafeRawBufferPointer) throws(AuditError) {
        guard size >= 0, hashes.count == size.nonzeroBitCount * Self.hashByteCount else { throw .stateMalformed }
        self.init()
        self.size = size
        byteCount = hashes.count
        storage.withUnsafeMutableBytes { $0.copyMemory(from: hashes) }
    }

    init(size: Int64, hashes: [UInt8]) throws(AuditError) {
        guard size >= 0, hashes.count == size.nonzeroBitCount * Self.hashByteCount else { throw .stateMalformed }
        self.init()
        self.size = size
        byteCount = hashes.count
        storage.replaceSubrange(0..<hashes.count, with: hashes)
    }

    /// Concatenated 32-byte subtree roots, largest subtree first.
    var hashes: [UInt8] { Array(storage[..<byteCount]) }

    /// Lends the concatenated roots without copying them, for binding into a statement.
    func withHashes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<byteCount])) }
    }

    static func == (lhs: MerkleFrontier, rhs: MerkleFrontier) -> Bool {
        lhs.size == rhs.size && lhs.storage[..<lhs.byteCount] == rhs.storage[..<rhs.byteCount]
    }

    /// Adds a 32-byte leaf hash, merging equal-sized subtrees as a binary counter carries.
    mutating func append(leaf: UnsafeRawPointer) {
        let size = self.size
        var end = byteCount
        storage.withUnsafeMutableBytes { roots in
            let base = roots.baseAddress!
            // The carried hash is built in the slot just past the last root.
            (base + end).copyMemory(from: leaf, byteCount: Self.hashByteCount)
            var remaining = size
            while remaining & 1 == 1 {
                let left = base + end - Self.hashByteCount
                Self.hashNode(left: left, right: base + end, into: left)
                end -= Self.hashByteCount
                remaining >>= 1
            }
        }
        byteCount = end + Self.hashByteCount
        self.size = size + 1
    }

    mutating func append(leaf: [UInt8]) {
        leaf.withUnsafeBytes { append(leaf: $0.baseAddress!) }
    }

    /// MTH of the whole tree; SHA-256 of the empty string for an empty tree, as RFC 6962 defines.
    func root() -> [UInt8] {
        guard size > 0 else { return Digest.sha256([]) }
        var accumulated = [UInt8](repeating: 0, count: Self.hashByteCount)
        storage.withUnsafeBytes { roots in
            accumulated.withUnsafeMutableBytes { out in
                let base = roots.baseAddress!
                var end = byteCount - Self.hashByteCount
                out.baseAddress!.copyMemory(from: base + end, byteCount: Self.hashByteCount)
                while end > 0 {
                    end -= Self.hashByteCount
                    Self.hashNode(left: base + end, right: UnsafeRawPointer(out.baseAddress!), into: out.baseAddress!)
                }
            }
        }
        return accumulated
    }

    /// SHA-256(0x01 ‖ left ‖ right), assembled on the stack; `into` may alias either child.
    static func hashNode(left: UnsafeRawPointer, right: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 1 + 2 * hashByteCount, alignment: 8) { scratch in
            let base = scratch.baseAddress!
            base.storeBytes(of: 0x01, as: UInt8.self)
            (base + 1).copyMemory(from: left, byteCount: hashByteCount)
            (base + 1 + hashByteCount).copyMemory(from: right, byteCount: hashByteCount)
            Digest.sha256(UnsafeRawBufferPointer(scratch), into: out)
        }
    }
}
