import Foundation
import PatronVaultFrontEnd
import Testing

/// The tar the daemon sends a patron's export in, read back by the CLI: names become paths on
/// the patron's disk, so anything but plain files inside the archive's folder is refused.
@Suite("Export archives")
struct TarArchiveTests {
    @Test("files written are read back byte for byte, and GNU tar reads the same archive")
    func roundTrip() throws {
        var archive = TarArchive()
        let big = (0..<1_300).map { UInt8($0 % 251) }
        archive.add(name: "patron-data/a.json", contents: Array("{}".utf8))
        archive.add(name: "patron-data/b.bin", contents: big)
        archive.add(name: "patron-data/empty", contents: [])
        let files = try TarArchive.files(in: archive.finished)
        #expect(files.map(\.name) == ["patron-data/a.json", "patron-data/b.bin", "patron-data/empty"])
        #expect(files[1].contents == big && files[2].contents.isEmpty)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(archive.finished).write(to: folder.appendingPathComponent("x.tar"))
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xf", "x.tar"]
        tar.currentDirectoryURL = folder
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        #expect(try Data(contentsOf: folder.appendingPathComponent("patron-data/b.bin")) == Data(big))
    }

    @Test("a name that climbs out or starts at /, a link, a bad checksum, a cut archive are refused")
    func hostileArchives() throws {
        for name in ["../evil", "patron-data/../../evil", "/etc/evil"] {
            var archive = TarArchive()
            archive.add(name: name, contents: [1])
            #expect(throws: DamagedArchive.self, "\(name)") { try TarArchive.files(in: archive.finished) }
        }
        var archive = TarArchive()
        archive.add(name: "patron-data/a", contents: Array(repeating: 7, count: 600))
        // A symbolic link with a correct checksum: refused for what it is.
        func typed(_ flag: Character) -> [UInt8] {
            var bytes = archive.finished
            bytes[156] = UInt8(ascii: flag.unicodeScalars.first!)
            for index in 148..<156 { bytes[index] = UInt8(ascii: " ") }
            let sum = String(bytes[0..<512].reduce(0) { $0 + Int($1) }, radix: 8)
            for (index, byte) in (String(repeating: "0", count: 6 - sum.count) + sum).utf8.enumerated() { bytes[148 + index] = byte }
            bytes[154] = 0
            return bytes
        }
        #expect(throws: DamagedArchive.self) { try TarArchive.files(in: typed("2")) }
        #expect(try TarArchive.files(in: typed("0")).count == 1, "the same header re-summed as a plain file is read")
        var flipped = archive.finished
        flipped[10] ^= 1
        #expect(throws: DamagedArchive.self) { try TarArchive.files(in: flipped) }
        #expect(throws: DamagedArchive.self) { try TarArchive.files(in: Array(archive.finished.prefix(900))) }
        #expect(throws: DamagedArchive.self) { try TarArchive.files(in: archive.bytes) }
    }
}
