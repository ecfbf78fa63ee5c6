import Foundation
import GRDB
import Testing

/// The trail signs a checkpoint every 1,000 entries, so deleting the stored checkpoints is
/// caught, not reported as "0 signed checkpoints verified".
@Suite("Deleted audit checkpoints")
struct CheckpointDeletionTests {
    @Test("deleting every stored checkpoint of a 1,100-entry trail fails verification with exit 74")
    func deletedCheckpoints() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let lines = (0..<1_100).map { #"{"card":"CK\#($0)","name":"Check Point \#($0)","email":"ck\#($0)@example.org"}"# }
        let file = cli.home.appendingPathComponent("patrons.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(try cli.run(["patron", "import", file.path]).status == 0)
        let intact = try cli.run(["audit", "verify"])
        #expect(intact.status == 0, "\(intact.stderr)")
        #expect(intact.stdout.contains("1 signed checkpoint") || intact.stdout.contains("1 signed checkpoints"), "\(intact.stdout)")

        try cli.database("vault.db").write { db in try db.execute(sql: "DELETE FROM audit_checkpoint") }
        let result = try cli.run(["audit", "verify"])
        #expect(result.status == 74)
        #expect(result.stderr.contains("size 1000 is missing"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
