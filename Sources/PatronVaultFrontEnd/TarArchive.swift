/// A POSIX ustar archive of a few small files: how a patron downloads their export bundle in
/// one response, to unpack with `tar -xf` (or `patronvault me export --server`) and check with
/// `patronvault export verify`.
public struct TarArchive: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Adds a regular file (mode 0600, owner 0, time 0: nothing about the server leaks).
    public mutating func add(name: String, contents: [UInt8]) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
        }
        // Zero-padded octal in all but the field's last byte, which stays NUL.
        func octal(_ value: Int, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(0o600, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(contents.count, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        // The checksum is computed with its own field as spaces.
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        octal(sum, at: 148, width: 7)
        header[155] = UInt8(ascii: " ")
        bytes += header
        bytes += contents
        bytes += [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
    }

    /// The archive with its end marker (two empty blocks).
    public var finished: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    /// The regular files of an archive this type wrote, by name. Anything else (a link, a
    /// device, a name that climbs out with `..` or starts at `/`, a checksum that does not
    /// match, a file running past the end) is refused, since the names become paths.
    public static func files(in archive: [UInt8]) throws -> [(name: String, contents: [UInt8])] {
        var files: [(name: String, contents: [UInt8])] = []
        var offset = 0
        while offset + 512 <= archive.count {
            let header = Array(archive[offset..<offset + 512])
            if header.allSatisfy({ $0 == 0 }) { return files }
            func field(_ start: Int, _ width: Int) -> String {
                String(decoding: header[start..<start + width].prefix { $0 != 0 }, as: UTF8.self)
            }
            func octal(_ start: Int, _ width: Int) -> Int? {
                Int(field(start, width).trimmingCharacters(in: .whitespaces), radix: 8)
            }
            var summed = header
            for index in 148..<156 { summed[index] = UInt8(ascii: " ") }
            guard octal(148, 8) == summed.reduce(0, { $0 + Int($1) }) else { throw DamagedArchive("a header checksum does not match") }
            guard header[156] == UInt8(ascii: "0") || header[156] == 0 else { throw DamagedArchive("it holds something other than plain files") }
            let name = field(0, 100)
            guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw DamagedArchive("it names a file outside its folder")
            }
            guard let size = octal(124, 12), size >= 0, offset + 512 + size <= archive.count else { throw DamagedArchive("it is cut short") }
            files.append((name, Array(archive[offset + 512..<offset + 512 + size])))
            offset += 512 + (size + 511) / 512 * 512
        }
        throw DamagedArchive("it is cut short (no end marker)")
    }
}

/// An archive received from the daemon that is not one it writes: an integrity failure, since
/// the names and bytes in it would become files.
public struct DamagedArchive: Error, CustomStringConvertible {
    public let reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "the archive received is damaged or not one the daemon writes: \(reason)" }
}
