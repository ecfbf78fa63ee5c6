import Foundation
import Hummingbird

/// Registers the daemon's routes and remembers them, so `patronvaultd --list-routes` prints
/// exactly what is served: the test that holds `openapi.yaml` to the router reads that list.
final class RouteTable {
    let router: Router<DaemonRequestContext>
    private(set) var served: [String] = []

    init(router: Router<DaemonRequestContext>) {
        self.router = router
    }

    /// `path` without a leading slash, parameters as `:name`.
    func on(
        _ method: HTTPRequest.Method, _ path: String, use handler: @escaping @Sendable (Request, DaemonRequestContext) async throws -> some ResponseGenerator
    ) {
        router.on(RouterPath(path), method: method, use: handler)
        let documented = path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
        served.append("\(method.rawValue) /\(documented)")
    }
}
