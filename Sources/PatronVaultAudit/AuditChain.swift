import PatronVaultCrypto

/// The keyed hash chain beside the Merkle tree: MAC(n) = BLAKE2b_k(n ‖ leaf(n) ‖ MAC(n−1)).
/// Anyone can recompute plain hashes after editing a row; only the vault holds k, so an edit,
/// deletion, insertion, reordering or forged append breaks the chain at the first bad entry.
struct AuditChain {
    static let macByteCount = 32
    /// MAC(0): the chain starts from zeros.
    static let genesis = [UInt8](repeating: 0, count: macByteCount)

    private let key: BlindIndexKey
    private var input = [UInt8](repeating: 0, count: 8 + 32 + macByteCount)

    init(key: SymmetricKey) {
        self.key = BlindIndexKey(key: key, outputByteCount: Self.macByteCount)
    }

    mutating func mac(sequence: Int64, leaf: [UInt8], previous: UnsafeRawBufferPointer) -> [UInt8] {
        let bits = UInt64(bitPattern: sequence)
        for index in 0..<8 {
            input[index] = UInt8(truncatingIfNeeded: bits >> UInt64(56 - 8 * index))
        }
        input.replaceSubrange(8..<40, with: leaf)
        input.replaceSubrange(40..., with: previous)
        return key.index(of: input)
    }

    mutating func mac(sequence: Int64, leaf: [UInt8], previous: [UInt8]) -> [UInt8] {
        previous.withUnsafeBytes { mac(sequence: sequence, leaf: leaf, previous: $0) }
    }

    /// Compares without an early exit, so timing does not reveal how much of a forged MAC matched.
    static func matches(_ expected: [UInt8], _ stored: UnsafeRawBufferPointer) -> Bool {
        guard expected.count == stored.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<expected.count {
            difference |= expected[index] ^ stored[index]
        }
        return difference == 0
    }
}
