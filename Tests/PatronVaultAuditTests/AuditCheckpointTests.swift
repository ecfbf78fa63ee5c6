import Foundation
import GRDB
import PatronVaultCrypto
import Testing
@testable import PatronVaultAudit

@Suite("Checkpoint text")
struct AuditCheckpointTests {
    private func makeCheckpoint() throws -> (AuditCheckpoint, VerifyingKey) {
        let fixture = try AuditFixture()
        try fixture.append(42)
        let checkpoint = try fixture.queue.write { try fixture.trail.checkpoint(at: AuditFixture.base.addingTimeInterval(100), in: $0) }
        return (checkpoint, fixture.trail.verifyingKey)
    }

    @Test("text round-trips and verifies")
    func roundTrip() throws {
        let (checkpoint, key) = try makeCheckpoint()
        let text = checkpoint.text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "patronvault-audit/v1")
        #expect(lines[1] == "42")
        #expect(lines[4] == "")
        #expect(lines[5].hasPrefix("\u{2014} patronvault-audit "))
        let parsed = try AuditCheckpoint.parse(text: text)
        #expect(parsed == checkpoint)
        #expect(parsed.text == text)
        #expect(parsed.isValid(for: key))
        #expect(parsed.time == checkpoint.time)
    }

    @Test("a forged signature, an edited size or root, or another key fails")
    func forgeriesFail() throws {
        let (checkpoint, key) = try makeCheckpoint()
        var signature = checkpoint.signature
        signature[10] ^= 0x01
        let forged = AuditCheckpoint(
            size: checkpoint.size, rootHash: checkpoint.rootHash, microseconds: checkpoint.microseconds,
            keyID: checkpoint.keyID, signature: signature)
        #expect(!(try AuditCheckpoint.parse(text: forged.text)).isValid(for: key))

        let resized = checkpoint.text.replacingOccurrences(of: "\n42\n", with: "\n41\n")
        #expect(!(try AuditCheckpoint.parse(text: resized)).isValid(for: key))

        let other = try SigningKey(seed: try SymmetricKey.random()).publicKey
        #expect(!checkpoint.isValid(for: other))
    }

    @Test("signature lines from other signers are ignored")
    func cosignatureIgnored() throws {
        let (checkpoint, key) = try makeCheckpoint()
        let cosigned = checkpoint.text + "\u{2014} witness.example AAAAAAAA\n"
        #expect(try AuditCheckpoint.parse(text: cosigned) == checkpoint)
        #expect(try AuditCheckpoint.parse(text: cosigned).isValid(for: key))
    }

    @Test("malformed texts are refused with a sentence", arguments: [
        "",
        "patronvault-audit/v1\n42\n",
        "other-log/v1\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n0\n\n\u{2014} patronvault-audit AAAA\n",
        "patronvault-audit/v1\n042\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n0\n\n\u{2014} patronvault-audit AAAA\n",
        "patronvault-audit/v1\n1\nnot-base64\n0\n\n\u{2014} patronvault-audit AAAA\n",
        "patronvault-audit/v1\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n0\n\n\u{2014} patronvault-audit AAAA\n",
    ])
    func malformed(text: String) {
        do {
            _ = try AuditCheckpoint.parse(text: text)
            Issue.record("parse should have failed")
        } catch {
            #expect(error.description.hasPrefix("The checkpoint text is malformed"))
        }
    }
}
