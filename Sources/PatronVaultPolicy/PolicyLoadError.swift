/// A policy, schema or test file that cannot be used, located as `file:line:column: message`
/// so an editor or a person can go straight to the offending spot. Lines and columns are
/// 1-based; columns count Unicode scalars.
public struct PolicyLoadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file name as it was given to the loader.
    public let file: String
    public let line: Int
    public let column: Int
    /// A sentence saying what is wrong, without the location.
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = max(1, line)
        self.column = max(1, column)
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}
