/// A request written as `key=value` text (for `policy explain` and test cases) that does not
/// fit the schema. The description names the part and reads as a sentence.
public struct PolicyRequestError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Which part of the request was wrong: `principal`, `action`, `resource` or `context`.
    public let part: String
    public let message: String
    /// Unicode-scalar offset of the offending text within that part, for pointing at it.
    public let offset: Int

    public init(part: String, message: String, offset: Int = 0) {
        self.part = part
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(part): \(message)" }
}
