import Foundation
import Testing

/// A vault file cut to nothing must be refused as corrupt: SQLite would open an empty file as a
/// new database, and the vault must not quietly become an empty one.
@Suite("Truncated vault files")
struct TruncatedVaultTests {
    @Test("a zero-length vault.db or keys.db is refused with exit 73 and left as it is", arguments: ["vault.db", "keys.db"])
    func zeroLength(file: String) throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "TR1", "--name", "Trunc Ated", "--email", "t@example.org"]).status == 0)
        let path = cli.vault.appendingPathComponent(file).path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        for arguments in [["staff", "list"], ["patron", "show", "TR1", "--purpose", "circulation"]] {
            let result = try cli.run(arguments)
            #expect(result.status == 73)
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("restore them from a backup"))
        }
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
