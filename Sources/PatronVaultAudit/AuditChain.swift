import PatronVaultCrypto

/// The keyed hash chain beside the Merkle tree: MAC(n) = BLAKE2b_k(n ‖ leaf(n) ‖ MAC(n−1)).
/// Anyone can recompute plain hashes after editing a row; only the vault holds k, so an edit,
/// deletion, insertion, reordering or forged append breaks the chain at the first bad entry.
///
/// Works on caller-provided buffers so that neither appending nor verifying allocates per entry.
struct AuditChain {
    static let macByteCount = 32
    /// MAC(0): the chain starts from zeros.
    static let genesis = [UInt8](repeating: 0, count: macByteCount)

    private let key: SymmetricKey

    init(key: SymmetricKey) {
        self.key = key
    }

    /// Writes MAC(sequence) for a 32-byte leaf hash and the previous 32-byte MAC into `out`,
    /// which may alias `previous`.
    func mac(sequence: Int64, leaf: UnsafeRawPointer, previous: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 8 + MerkleFrontier.hashByteCount + Self.macByteCount, alignment: 8) { input in
            let base = input.baseAddress!
            base.storeBytes(of: UInt64(bitPattern: sequence).bigEndian, as: UInt64.self)
            (base + 8).copyMemory(from: leaf, byteCount: MerkleFrontier.hashByteCount)
            (base + 8 + MerkleFrontier.hashByteCount).copyMemory(from: previous, byteCount: Self.macByteCount)
            key.authenticationCode(for: UnsafeRawBufferPointer(input), into: out)
        }
    }

    /// Compares in constant time, so timing does not reveal how much of a forged MAC matched.
    static func matches(_ expected: UnsafeRawPointer, _ stored: UnsafeRawBufferPointer) -> Bool {
        ConstantTime.equals(UnsafeRawBufferPointer(start: expected, count: macByteCount), stored)
    }
}
