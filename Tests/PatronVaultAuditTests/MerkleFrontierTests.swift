import PatronVaultCrypto
import Testing
@testable import PatronVaultAudit

@Suite("Merkle frontier")
struct MerkleFrontierTests {
    /// RFC 6962 §2.1 MTH, computed the slow, obvious way.
    private func referenceRoot(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.isEmpty { return Digest.sha256([]) }
        if leaves.count == 1 { return leaves.first! }
        var split = 1
        while split * 2 < leaves.count { split *= 2 }
        let start = leaves.startIndex
        return Digest.sha256([0x01] + referenceRoot(leaves[start..<(start + split)]) + referenceRoot(leaves[(start + split)...]))
    }

    @Test("the frontier's root equals RFC 6962's MTH for every size up to 70")
    func matchesReference() throws {
        var frontier = MerkleFrontier()
        var leaves: [[UInt8]] = []
        #expect(frontier.root() == referenceRoot([]))
        for index in 0..<70 {
            let leaf = Digest.sha256([0x00, UInt8(index)])
            leaves.append(leaf)
            frontier.append(leaf: leaf)
            #expect(frontier.root() == referenceRoot(leaves[...]), "size \(index + 1)")
            let restored = try MerkleFrontier(size: frontier.size, hashes: frontier.hashes)
            #expect(restored == frontier)
        }
    }

    @Test("the empty tree's root is SHA-256 of the empty string")
    func emptyRoot() {
        let frontier = MerkleFrontier()
        let hex = frontier.root().map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        #expect(hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("a stored frontier whose hash count does not match its size is refused")
    func refusesMismatchedFrontier() {
        #expect(throws: AuditError.self) { try MerkleFrontier(size: 3, hashes: [UInt8](repeating: 0, count: 32)) }
    }
}
