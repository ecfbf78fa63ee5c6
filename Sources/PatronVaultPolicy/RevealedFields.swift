/// The fields a permitted read shows, as bits over the fields `schema.pvschema` declares (in
/// the order it declares them). A set of bits rather than names, so deciding a lookup unions
/// what its rules reveal without building text; `PolicySchema.fieldNames(_:)` gives the names.
public struct RevealedFields: Sendable, Hashable {
    public let bits: UInt64

    public init(bits: UInt64) {
        self.bits = bits
    }

    /// What a forbid, deny by default, or a permit without `reveals:` shows.
    public static let nothing = RevealedFields(bits: 0)

    public var isEmpty: Bool { bits == 0 }

    public func union(_ other: RevealedFields) -> RevealedFields { RevealedFields(bits: bits | other.bits) }
    public func intersection(_ other: RevealedFields) -> RevealedFields { RevealedFields(bits: bits & other.bits) }

    /// Whether the field at `index` in the schema's declaration order is shown.
    public func contains(fieldAt index: Int) -> Bool { index >= 0 && index < 64 && bits & (1 << UInt64(index)) != 0 }
}
