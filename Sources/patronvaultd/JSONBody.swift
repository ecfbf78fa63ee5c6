import Foundation
import Hummingbird

/// A JSON response in the shape the CLI's `--json` prints (sorted keys), so a script reads the
/// same document from either front end.
struct JSONBody<Value: Encodable & Sendable>: ResponseGenerator {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    let value: Value
    var status: HTTPResponse.Status = .ok

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let bytes = try Self.encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// What an operation that returns nothing answers.
struct Done: Encodable, Sendable {
    let done = true
}
