/// The bytes of one policy, schema or test file, checked before any parsing: at most 1 MiB and
/// valid UTF-8, so a hostile or corrupted file is refused with a location instead of being
/// silently repaired into something that might parse.
struct PolicySource: Sendable {
    static let maximumByteCount = 1 << 20

    let name: String
    let bytes: [UInt8]

    init(name: String, bytes: [UInt8]) throws(PolicyLoadError) {
        guard bytes.count <= Self.maximumByteCount else {
            throw PolicyLoadError(file: name, line: 1, column: 1, message: "the file is larger than 1 MiB (\(bytes.count) bytes); policy files must be small enough to read")
        }
        if let bad = Self.firstInvalidUTF8(in: bytes) {
            let (line, column) = Self.location(of: bad, in: bytes)
            throw PolicyLoadError(file: name, line: line, column: column, message: "the file is not valid UTF-8 (byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at offset \(bad))")
        }
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        self.name = name
        self.bytes = start == 0 ? bytes : Array(bytes[start...])
    }

    init(name: String, text: String) throws(PolicyLoadError) {
        try self.init(name: name, bytes: Array(text.utf8))
    }

    /// Offset of the first byte that does not begin a well-formed UTF-8 sequence (overlong
    /// forms, surrogates and values past U+10FFFF are ill-formed), or nil.
    static func firstInvalidUTF8(in bytes: [UInt8]) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return index
            }
            guard index + length <= count else { return index }
            let second = bytes[index + 1]
            guard second >= low && second <= high else { return index }
            var next = index + 2
            while next < index + length {
                guard bytes[next] & 0xC0 == 0x80 else { return index }
                next += 1
            }
            index += length
        }
        return nil
    }

    /// 1-based line and column (in scalars) of a byte offset.
    static func location(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var index = 0
        while index < offset && index < bytes.count {
            step(over: bytes[index], line: &line, column: &column)
            index += 1
        }
        return (line, column)
    }

    /// Moves a 1-based position past one byte: a newline starts a line, and continuation bytes
    /// of a UTF-8 sequence do not count as columns.
    static func step(over byte: UInt8, line: inout Int, column: inout Int) {
        if byte == 0x0A {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }
}
