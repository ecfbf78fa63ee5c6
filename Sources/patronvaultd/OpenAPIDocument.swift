import Foundation
import Hummingbird

/// `openapi.yaml`, the API's description, shipped beside the daemon and served as it is.
enum OpenAPIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let data = try? Data(contentsOf: url) else { return [] }
        return Array(data)
    }()

    @Sendable static func serve(_ request: Request, context: DaemonRequestContext) async throws -> Response {
        guard !bytes.isEmpty else {
            throw Problem(.notFound, detail: "the OpenAPI document was not installed beside the daemon")
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
