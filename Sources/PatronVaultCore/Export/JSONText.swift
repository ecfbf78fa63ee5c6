import Foundation

/// JSON written straight into UTF-8 bytes, indented two spaces a level, keys in the order the
/// caller writes them. An export of ten thousand loans through `JSONEncoder` spent most of its
/// time building and sorting the encoder's intermediate dictionaries; this writes each byte once.
struct JSONText {
    private(set) var bytes: [UInt8] = []
    private var depth = 0
    /// Whether the container being written already holds a member (a comma goes first).
    private var hasMember: [Bool] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func object(_ body: (inout JSONText) -> Void) {
        open(0x7B)
        body(&self)
        close(0x7D)
    }

    mutating func array<S: Sequence>(_ elements: S, _ body: (inout JSONText, S.Element) -> Void) {
        open(0x5B)
        for element in elements {
            member()
            body(&self, element)
        }
        close(0x5D)
    }

    /// An array's members written apart from the document (on another core), for `array(rendered:)`
    /// to splice in where the writer is `depth` containers deep.
    static func arrayMembers<S: Sequence>(
        _ elements: S, depth: Int, capacity: Int, _ body: (inout JSONText, S.Element) -> Void
    ) -> RenderedMembers {
        var json = JSONText(capacity: capacity)
        json.depth = depth + 1
        json.hasMember = [false]
        for element in elements {
            json.member()
            body(&json, element)
        }
        return RenderedMembers(bytes: json.bytes, depth: depth, isEmpty: !json.hasMember[0])
    }

    /// Members rendered by `arrayMembers`, and the depth they were indented for.
    struct RenderedMembers: Sendable {
        let bytes: [UInt8]
        let depth: Int
        let isEmpty: Bool
    }

    /// An array whose members `arrayMembers` wrote for this depth.
    mutating func array(rendered members: RenderedMembers) {
        precondition(members.depth == depth, "array members rendered for another depth")
        open(0x5B)
        bytes.append(contentsOf: members.bytes)
        hasMember[hasMember.count - 1] = !members.isEmpty
        close(0x5D)
    }

    /// Starts a member of the enclosing object; the value written next belongs to it.
    mutating func key(_ name: StaticString) {
        member()
        bytes.append(0x22)
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(0x22)
        bytes.append(0x3A)
        bytes.append(0x20)
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        field(name, value)
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ name: StaticString, _ value: Int) {
        field(name, Int64(value))
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        let literal: StaticString = value ? "true" : "false"
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func field(_ name: StaticString, strings values: [String]) {
        key(name)
        array(values) { $0.string($1) }
    }

    /// A day as `YYYY-MM-DD`, as `CalendarDay` prints it.
    mutating func field(_ name: StaticString, day: CalendarDay) {
        key(name)
        bytes.append(0x22)
        bytes.appendISO8601(day: day)
        bytes.append(0x22)
    }

    mutating func field(_ name: StaticString, day: CalendarDay?) {
        guard let day else { return }
        field(name, day: day)
    }

    mutating func field(_ name: StaticString, instant: Date) {
        key(name)
        bytes.append(0x22)
        bytes.appendISO8601(instant: instant)
        bytes.append(0x22)
    }

    mutating func field(_ name: StaticString, instant: Date?) {
        guard let instant else { return }
        field(name, instant: instant)
    }

    /// A string with the escapes RFC 8259 requires: quote, backslash and control characters.
    mutating func string(_ value: String) {
        bytes.append(0x22)
        var value = value
        // Most strings need no escape: copied whole from their contiguous UTF-8.
        let copied = value.withUTF8 { utf8 in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        guard !copied else {
            bytes.append(0x22)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, Self.hexDigit(byte >> 4), Self.hexDigit(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }

    private mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        depth += 1
        hasMember.append(false)
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        if hasMember.removeLast() { newline() }
        bytes.append(bracket)
    }

    private mutating func member() {
        if hasMember[hasMember.count - 1] { bytes.append(0x2C) }
        hasMember[hasMember.count - 1] = true
        newline()
    }

    private mutating func newline() {
        let count = 1 + 2 * depth
        if count <= Self.indentation.count {
            Self.indentation.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<count])) }
        } else {
            bytes.append(0x0A)
            bytes.append(contentsOf: [UInt8](repeating: 0x20, count: count - 1))
        }
    }

    /// A newline and the spaces of the deepest indentation an export uses, appended in one copy.
    private static let indentation: [UInt8] = [0x0A] + [UInt8](repeating: 0x20, count: 32)

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x57 + value
    }
}
